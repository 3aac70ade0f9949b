import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { createLogger } from '../../src/log.js';
import { TaskSignals } from '../../src/tasks/signals.js';
import { buildApp } from '../../src/server/app.js';
import { csrfTokenFor } from '../../src/server/web/session.js';
import { storeTargets, type TestStore } from '../support/databases.js';
import { createBareRemote } from '../support/git-repos.js';
import { startTestServer, waitFor } from '../support/server.js';

/** Every request is logged as JSON lines with its request id, and the API token never appears in any line. */
describe('request logs', () => {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      lines.push(...String(chunk).split('\n').filter(Boolean));
      done();
    },
  });
  let store: TestStore;
  let app: FastifyInstance;
  let url: string;
  let token: string;

  beforeAll(async () => {
    store = await storeTargets[0]!.open();
    const logger = createLogger({ level: 'trace', destination: sink });
    app = await buildApp({ store, signals: new TaskSignals(), logger });
    await app.listen({ host: '127.0.0.1', port: 0 });
    url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    const admin = await store.users.ensure('admin', { isAdmin: true });
    token = (await store.users.createToken(admin.id, 'logs')).token;
  });
  afterAll(async () => {
    await app?.close();
    await store?.destroy();
  });

  it('writes one JSON object per line with reqId, and no token from a header, cookie, form or logged object', async () => {
    const bearer = await fetch(`${url}/v1/tasks`, { headers: { authorization: `Bearer ${token}` } });
    expect(bearer.status).toBe(200);
    const signIn = await fetch(`${url}/signin`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token, next: '/' }).toString(),
    });
    const cookie = signIn.headers.get('set-cookie')!.split(';')[0]!;
    const sessionId = decodeURIComponent(cookie.slice(cookie.indexOf('=') + 1));
    expect(sessionId.length).toBeGreaterThan(40);
    expect((await fetch(`${url}/v1/tasks`, { headers: { cookie } })).status).toBe(200);
    expect((await fetch(`${url}/v1/tasks/01ARZ3NDEKTSV4RRFFQ69G5FAV`, { method: 'DELETE', headers: { cookie, 'x-csrf-token': 'bad' } })).status).toBe(403);
    expect((await fetch(`${url}/v1/tasks`, { headers: { authorization: `Bearer ${token}x` } })).status).toBe(401);
    // A careless log call with the headers still has them redacted.
    app.log.info({ headers: { authorization: `Bearer ${token}` }, token, nested: { apiKey: token } }, 'careless');

    const parsed = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    const requests = parsed.filter((l) => l.msg === 'incoming request' || l.msg === 'request completed');
    expect(requests.length).toBeGreaterThanOrEqual(10);
    for (const l of requests) expect(l.reqId).toMatch(/^req_[0-9A-Z]{26}$/);
    expect(parsed.find((l) => l.msg === 'careless')).toMatchObject({ token: '[redacted]', nested: { apiKey: '[redacted]' }, headers: { authorization: '[redacted]' } });
    expect(parsed.some((l) => l.msg === 'web sign-in')).toBe(true);
    for (const line of lines) {
      expect(line).not.toContain(token);
      expect(line).not.toContain(sessionId);
      expect(line).not.toContain(csrfTokenFor(sessionId));
    }
  });
});

describe('task logs', () => {
  it('carry the task id on every line the runner writes for a task', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _enc, done) {
        lines.push(...String(chunk).split('\n').filter(Boolean));
        done();
      },
    });
    const server = await startTestServer({ dialect: 'sqlite', logger: createLogger({ level: 'debug', destination: sink }) });
    try {
      const remote = createBareRemote();
      await server.api('POST', '/v1/repos', { body: { name: 'broken', clone_url: remote.url, agent: 'command', agent_settings: { command: 'echo boom >&2; exit 3' } } });
      const id: string = (await server.api('POST', '/v1/tasks', { body: { repo: 'broken', task: 'Fail' } })).body.task.id;
      const failed = await waitFor(() => lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.msg === 'task failed'), 20_000, 'the failure log line');
      expect(failed).toMatchObject({ taskId: id, level: 40, code: 'AGENT_FAILED' });
      for (const line of lines) expect(line).not.toContain(server.adminToken);
    } finally {
      await server.destroy();
    }
  });
});
