import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postgresSkipReason } from '../support/databases.js';
import { startTestServer, waitFor, type TestServer } from '../support/server.js';

/** Counts every row a rejected request could have written. */
async function snapshot(server: TestServer) {
  const db = server.store.db.kysely;
  const count = async (table: 'tasks' | 'task_events' | 'repos' | 'users' | 'api_tokens') =>
    Number((await db.selectFrom(table).select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n);
  return { tasks: await count('tasks'), events: await count('task_events'), repos: await count('repos'), users: await count('users'), tokens: await count('api_tokens') };
}

for (const dialect of ['sqlite', 'postgres'] as const) {
  describe.skipIf(dialect === 'postgres' && postgresSkipReason)(`API rejections on ${dialect}`, () => {
    let server: TestServer;
    beforeAll(async () => {
      server = await startTestServer({ dialect });
      const res = await server.api('POST', '/v1/repos', { body: { name: 'demo', clone_url: 'file:///nowhere.git', agent: 'command', agent_settings: { command: 'true' } } });
      expect(res.status).toBe(201);
    });
    afterAll(async () => {
      await server?.destroy();
    });

    async function expectRejected(
      call: () => Promise<{ status: number; body: any }>,
      status: number,
      code: string,
      messagePart?: string,
    ) {
      const before = await snapshot(server);
      const res = await call();
      expect(res.status).toBe(status);
      expect(res.body.error.code).toBe(code);
      expect(res.body.error.request_id).toMatch(/^req_/);
      if (messagePart) expect(res.body.error.message).toContain(messagePart);
      expect(await snapshot(server)).toEqual(before);
    }

    it('answers health without a token', async () => {
      expect((await server.api('GET', '/healthz', { token: null })).body).toEqual({ status: 'ok' });
      expect((await server.api('GET', '/readyz', { token: null })).body.status).toBe('ready');
    });

    it('rejects a missing token with 401 and writes nothing', async () => {
      await expectRejected(() => server.api('POST', '/v1/tasks', { token: null, body: { repo: 'demo', task: 'x' } }), 401, 'UNAUTHORIZED', 'missing API token');
    });

    it('rejects a wrong token with 401 and writes nothing', async () => {
      await expectRejected(() => server.api('POST', '/v1/tasks', { token: 'bga_wrong', body: { repo: 'demo', task: 'x' } }), 401, 'UNAUTHORIZED', 'invalid');
    });

    it('rejects a bad repo name with 400', async () => {
      await expectRejected(() => server.api('POST', '/v1/tasks', { body: { repo: '../etc', task: 'x' } }), 400, 'VALIDATION_ERROR', 'repo');
    });

    it('rejects an unknown repo with 422', async () => {
      await expectRejected(() => server.api('POST', '/v1/tasks', { body: { repo: 'unknown', task: 'x' } }), 422, 'REPO_NOT_ONBOARDED', 'bgagent repo add unknown');
    });

    it('rejects an oversized body with 413', async () => {
      await expectRejected(() => server.api('POST', '/v1/tasks', { body: { repo: 'demo', task: 'x'.repeat(300 * 1024) } }), 413, 'PAYLOAD_TOO_LARGE');
    });

    it('rejects malformed JSON, unknown fields and bad limits with 400', async () => {
      await expectRejected(() => server.api('POST', '/v1/tasks', { rawBody: '{"repo":', headers: { 'content-type': 'application/json' } }), 400, 'VALIDATION_ERROR');
      await expectRejected(() => server.api('POST', '/v1/tasks', { body: { repo: 'demo', task: 'x', colour: 'red' } }), 400, 'VALIDATION_ERROR');
      await expectRejected(() => server.api('POST', '/v1/tasks', { body: { repo: 'demo', task: '   ' } }), 400, 'VALIDATION_ERROR', 'task');
      await expectRejected(() => server.api('POST', '/v1/tasks', { body: { repo: 'demo', task: 'x', max_turns: 0 } }), 400, 'VALIDATION_ERROR', 'max_turns');
      await expectRejected(() => server.api('GET', '/v1/tasks?status=BOGUS'), 400, 'VALIDATION_ERROR', 'BOGUS');
    });

    it('rejects a non-admin onboarding a repo with 403', async () => {
      const created = await server.api('POST', '/v1/tokens', { body: { user: 'mallory' } });
      expect(created.status).toBe(201);
      await expectRejected(
        () => server.api('POST', '/v1/repos', { token: created.body.token, body: { name: 'x', clone_url: 'file:///x', agent_settings: { command: 'true' } } }),
        403,
        'FORBIDDEN',
      );
    });

    it('answers unknown tasks and routes with 404 envelopes', async () => {
      await expectRejected(() => server.api('GET', '/v1/tasks/01ARZ3NDEKTSV4RRFFQ69G5FAV'), 404, 'TASK_NOT_FOUND');
      await expectRejected(() => server.api('GET', '/v1/nothing'), 404, 'NOT_FOUND');
    });

    it('creates one task for the same Idempotency-Key and refuses it to another user', async () => {
      const body = { repo: 'demo', task: 'idempotent work' };
      const headers = { 'idempotency-key': `key-${dialect}` };
      const [a, b] = await Promise.all([server.api('POST', '/v1/tasks', { body, headers }), server.api('POST', '/v1/tasks', { body, headers })]);
      expect([a.status, b.status].sort()).toEqual([200, 201]);
      expect(a.body.task.id).toBe(b.body.task.id);
      const replay = a.status === 200 ? a : b;
      expect(replay.headers.get('idempotent-replay')).toBe('true');
      // Let the task finish, so its own events do not change the counts below.
      await waitFor(async () => (['COMPLETED', 'FAILED'].includes((await server.api('GET', `/v1/tasks/${a.body.task.id}`)).body.task.status) ? true : undefined));
      const other = await server.api('POST', '/v1/tokens', { body: { user: 'eve' } });
      await expectRejected(() => server.api('POST', '/v1/tasks', { token: other.body.token, body, headers }), 409, 'DUPLICATE_TASK');
      // A user never sees another user's task.
      const peek = await server.api('GET', `/v1/tasks/${a.body.task.id}`, { token: other.body.token });
      expect(peek.status).toBe(404);
    });
  });
}
