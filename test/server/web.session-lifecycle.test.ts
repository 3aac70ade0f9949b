import { createHash } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import type { KyselyPlugin } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log.js';
import { TaskSignals } from '../../src/tasks/signals.js';
import { buildApp } from '../../src/server/app.js';
import { openStore, TaskStore, UserStore, WebSessionStore, type Store } from '../../src/store/index.js';
import { storeTargets, type TestStore } from '../support/databases.js';
import { waitFor } from '../support/server.js';

const HOUR = 60 * 60 * 1000;

/** An open server-sent event stream: the events read so far, and whether the server ended it. */
interface OpenStream {
  status: number;
  events: { event: string; data: unknown }[];
  ended: boolean;
  body: unknown;
  close(): void;
}

async function openStream(url: string, headers: Record<string, string>): Promise<OpenStream> {
  const abort = new AbortController();
  const res = await fetch(url, { headers: { accept: 'text/event-stream', ...headers }, signal: abort.signal });
  const stream: OpenStream = { status: res.status, events: [], ended: false, body: undefined, close: () => abort.abort() };
  if (res.status !== 200) {
    stream.body = await res.json();
    stream.ended = true;
    return stream;
  }
  void (async () => {
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true });
        let sep: number;
        while ((sep = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, sep);
          buffer = buffer.slice(sep + 2);
          const event = /^event: (.*)$/m.exec(block)?.[1];
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (event && data) stream.events.push({ event, data: JSON.parse(data) });
        }
      }
    } catch {
      // aborted by the test
    }
    stream.ended = true;
  })();
  return stream;
}

type Query = { sql: string; parameters: readonly unknown[] };

/** The store with every query it runs recorded in `queries`. */
function countedStore(store: Store, queries: Query[]): Store {
  const base = store.db.kysely;
  const counter: KyselyPlugin = {
    transformQuery({ node, queryId }) {
      const compiled = base.getExecutor().compileQuery(node, queryId);
      queries.push({ sql: compiled.sql, parameters: compiled.parameters });
      return node;
    },
    transformResult: async ({ result }) => result,
  };
  const db = { ...store.db, kysely: base.withPlugin(counter) };
  return { ...store, db, tasks: new TaskStore(db), users: new UserStore(db), webSessions: new WebSessionStore(db) };
}

async function createTask(url: string, token: string): Promise<string> {
  const res = await fetch(`${url}/v1/tasks`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ repo: 'demo', task: 'Watch me' }),
  });
  expect(res.status).toBe(201);
  return ((await res.json()) as { task: { id: string } }).task.id;
}

for (const target of storeTargets) {
  describe.skipIf(target.skipReason)(`web sessions on ${target.name}`, () => {
    let now = Date.UTC(2026, 0, 1);
    let store: TestStore;
    let app: FastifyInstance;
    let url: string;
    let adminToken: string;

    beforeAll(async () => {
      store = await target.open({ now: () => now });
      // Fast re-checks and polls so streams react within the test; the limit is the default.
      app = await buildApp({ store, signals: new TaskSignals(), logger: silentLogger, streamLimits: { recheckMs: 50, pollMs: 25 } });
      await app.listen({ host: '127.0.0.1', port: 0 });
      url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
      const admin = await store.users.ensure('admin', { isAdmin: true });
      adminToken = (await store.users.createToken(admin.id, 'admin')).token;
      await store.repos.upsert({ name: 'demo', cloneUrl: 'file:///nowhere.git', defaultBranch: 'main', agent: 'command', agentSettings: { command: 'true' } });
    });
    afterAll(async () => {
      await app?.close();
      await store?.destroy();
    });

    async function newToken(user: string): Promise<{ token: string; id: string }> {
      const u = await store.users.ensure(user);
      const { token, info } = await store.users.createToken(u.id, `t-${Math.random()}`);
      return { token, id: info.id };
    }

    async function signIn(token: string): Promise<{ cookie: string; sessionId: string; setCookie: string }> {
      const res = await fetch(`${url}/signin`, {
        method: 'POST',
        redirect: 'manual',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ token, next: '/' }).toString(),
      });
      expect(res.status).toBe(303);
      const setCookie = res.headers.get('set-cookie')!;
      const cookie = setCookie.split(';')[0]!;
      return { cookie, sessionId: decodeURIComponent(cookie.slice(cookie.indexOf('=') + 1)), setCookie };
    }

    const apiStatus = async (cookie: string) => (await fetch(`${url}/v1/tasks`, { headers: { cookie } })).status;
    const sessionRows = () => store.db.kysely.selectFrom('web_sessions').selectAll().execute();

    const newTask = (token: string) => createTask(url, token);

    it('puts a random session id in the cookie, never the token, and stores only its hash', async () => {
      const canary = await newToken('canary');
      const { setCookie, sessionId } = await signIn(canary.token);
      expect(setCookie).not.toContain(canary.token);
      expect(setCookie).not.toContain(encodeURIComponent(canary.token));
      expect(sessionId).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(setCookie).toContain(`Max-Age=${12 * 60 * 60}`);
      const rows = await sessionRows();
      expect(JSON.stringify(rows)).not.toContain(sessionId);
      expect(JSON.stringify(rows)).not.toContain(canary.token);
      const row = rows.find((r) => r.id === createHash('sha256').update(sessionId).digest('hex'))!;
      expect(row).toMatchObject({ token_id: canary.id, created_at: now, last_seen_at: now, expires_at: now + 12 * HOUR });
    });

    it('ends the session on sign-out: the row is gone and the cookie no longer works', async () => {
      const t = await newToken('erin');
      const { cookie, sessionId } = await signIn(t.token);
      expect(await apiStatus(cookie)).toBe(200);
      const hash = createHash('sha256').update(sessionId).digest('hex');
      const { csrfTokenFor } = await import('../../src/server/web/session.js');
      const out = await fetch(`${url}/signout`, {
        method: 'POST',
        redirect: 'manual',
        headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ csrf: csrfTokenFor(sessionId) }).toString(),
      });
      expect(out.status).toBe(303);
      expect((await sessionRows()).some((r) => r.id === hash)).toBe(false);
      expect(await apiStatus(cookie)).toBe(401);
    });

    it('ends every session of a token when the token is revoked through the API', async () => {
      const t = await newToken('fay');
      const a = await signIn(t.token);
      const b = await signIn(t.token);
      const other = await signIn((await newToken('fay')).token);
      expect((await sessionRows()).filter((r) => r.token_id === t.id)).toHaveLength(2);
      const res = await fetch(`${url}/v1/tokens/${t.id}`, { method: 'DELETE', headers: { authorization: `Bearer ${adminToken}` } });
      expect(res.status).toBe(200);
      expect((await sessionRows()).filter((r) => r.token_id === t.id)).toHaveLength(0);
      expect(await apiStatus(a.cookie)).toBe(401);
      expect(await apiStatus(b.cookie)).toBe(401);
      expect(await apiStatus(other.cookie)).toBe(200);
    });

    it('ends a session 12 hours after sign-in however active it is', async () => {
      const { cookie } = await signIn((await newToken('gus')).token);
      const start = now;
      try {
        for (let t = HOUR; t < 12 * HOUR; t += HOUR) {
          now = start + t;
          expect(await apiStatus(cookie)).toBe(200);
        }
        now = start + 12 * HOUR - 1;
        expect(await apiStatus(cookie)).toBe(200);
        now = start + 12 * HOUR;
        expect(await apiStatus(cookie)).toBe(401);
      } finally {
        now = start;
      }
    });

    it('ends a session after 2 hours without a request; requests keep it alive, writing at most once a minute', async () => {
      const { cookie, sessionId } = await signIn((await newToken('hal')).token);
      const hash = createHash('sha256').update(sessionId).digest('hex');
      const lastSeen = async () => (await sessionRows()).find((r) => r.id === hash)!.last_seen_at;
      const start = now;
      try {
        now = start + 30_000;
        expect(await apiStatus(cookie)).toBe(200);
        expect(await lastSeen()).toBe(start);
        now = start + 2 * HOUR - 1;
        expect(await apiStatus(cookie)).toBe(200);
        expect(await lastSeen()).toBe(now);
        const seen = now;
        now = seen + 2 * HOUR - 1;
        expect(await apiStatus(cookie)).toBe(200);
        now += 2 * HOUR;
        expect(await apiStatus(cookie)).toBe(401);
        expect((await fetch(`${url}/`, { headers: { cookie }, redirect: 'manual' })).status).toBe(303);
      } finally {
        now = start;
      }
    });

    it('deletes expired sessions at the next sign-in', async () => {
      await signIn((await newToken('ivy')).token);
      const before = (await sessionRows()).length;
      expect(before).toBeGreaterThan(0);
      const start = now;
      try {
        now = start + 13 * HOUR;
        await signIn(adminToken);
        expect(await sessionRows()).toHaveLength(1);
      } finally {
        now = start;
        await store.db.kysely.deleteFrom('web_sessions').execute();
      }
    });

    it('keeps sessions in the database only: another process on it accepts the cookie, and a sign-out there ends it here', async () => {
      const other = await openStore({ dataDir: store.dataDir, databaseUrl: store.databaseUrl, now: () => now });
      const otherApp = await buildApp({ store: other, signals: new TaskSignals(), logger: silentLogger });
      try {
        const { cookie, sessionId } = await signIn((await newToken('nia')).token);
        const onOther = (headers: Record<string, string>) => otherApp.inject({ method: 'GET', url: '/v1/tasks', headers });
        expect((await onOther({ cookie })).statusCode).toBe(200);
        const { csrfTokenFor } = await import('../../src/server/web/session.js');
        const out = await otherApp.inject({
          method: 'POST',
          url: '/signout',
          headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
          payload: new URLSearchParams({ csrf: csrfTokenFor(sessionId) }).toString(),
        });
        expect(out.statusCode).toBe(303);
        expect(await apiStatus(cookie)).toBe(401);
      } finally {
        await otherApp.close();
        await other.close();
      }
    });

    it('closes an open event stream, saying why, once its token is revoked', async () => {
      const t = await newToken('jo');
      const taskId = await newTask(t.token);
      const stream = await openStream(`${url}/v1/tasks/${taskId}/events`, { authorization: `Bearer ${t.token}` });
      expect(stream.status).toBe(200);
      await waitFor(() => (stream.events.some((e) => e.event === 'task_event') ? true : undefined), 10_000, 'the first event');
      await store.users.revokeToken(t.id);
      await waitFor(() => (stream.ended ? true : undefined), 10_000, 'the stream to close');
      expect(stream.events.at(-1)).toMatchObject({ event: 'closed', data: { reason: 'UNAUTHORIZED' } });
    });

    it('closes an open event stream of a session once the session is signed out', async () => {
      const t = await newToken('kim');
      const taskId = await newTask(t.token);
      const { cookie, sessionId } = await signIn(t.token);
      const stream = await openStream(`${url}/v1/tasks/${taskId}/events`, { cookie });
      expect(stream.status).toBe(200);
      await waitFor(() => (stream.events.length ? true : undefined), 10_000, 'the first event');
      await store.webSessions.delete(sessionId);
      await waitFor(() => (stream.ended ? true : undefined), 10_000, 'the stream to close');
      expect(stream.events.at(-1)).toMatchObject({ event: 'closed', data: { reason: 'UNAUTHORIZED' } });
    });

    it('refuses a 21st open stream of one user with 429, and accepts one again when a stream closes', async () => {
      const t = await newToken('lee');
      const taskId = await newTask(t.token);
      const auth = { authorization: `Bearer ${t.token}` };
      const open: OpenStream[] = [];
      try {
        for (let i = 0; i < 20; i++) open.push(await openStream(`${url}/v1/tasks/${taskId}/events`, auth));
        expect(open.map((s) => s.status)).toEqual(Array(20).fill(200));
        const refused = await openStream(`${url}/v1/tasks/${taskId}/events`, auth);
        expect(refused.status).toBe(429);
        expect(refused.body).toMatchObject({ error: { code: 'RATE_LIMIT_EXCEEDED', message: expect.stringContaining('BGAGENT_MAX_STREAMS_PER_USER') } });
        // Another user is not affected.
        const admins = await openStream(`${url}/v1/tasks/${taskId}/events`, { authorization: `Bearer ${adminToken}` });
        expect(admins.status).toBe(200);
        open.push(admins);
        open[0]!.close();
        const again = await waitFor(async () => {
          const s = await openStream(`${url}/v1/tasks/${taskId}/events`, auth);
          if (s.status === 200) return s;
          return undefined;
        }, 10_000, 'a stream slot to free');
        open.push(again);
      } finally {
        for (const s of open) s.close();
      }
    });
  });

  describe.skipIf(target.skipReason)(`the shared event feed on ${target.name}`, () => {
    let store: TestStore;
    let app: FastifyInstance;
    let url: string;
    let token: string;
    const queries: Query[] = [];

    beforeAll(async () => {
      store = await target.open();
      const counted = countedStore(store, queries);
      // Credential re-checks are far apart here, so only the feed's polls run while nothing changes.
      app = await buildApp({ store: counted, signals: new TaskSignals(), logger: silentLogger, streamLimits: { recheckMs: 10 * 60_000, pollMs: 20 } });
      await app.listen({ host: '127.0.0.1', port: 0 });
      url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
      const admin = await store.users.ensure('admin', { isAdmin: true });
      token = (await store.users.createToken(admin.id, 'admin')).token;
      await store.repos.upsert({ name: 'demo', cloneUrl: 'file:///nowhere.git', defaultBranch: 'main', agent: 'command', agentSettings: { command: 'true' } });
    });
    afterAll(async () => {
      await app?.close();
      await store?.destroy();
    });

    const isPoll = (q: { sql: string }) => /max\("task_events"\."id"\)/.test(q.sql);
    const polls = () => queries.filter(isPoll).length;

    it('runs one query per tick for all open streams and wakes only the stream whose task changed', async () => {
      const ids: string[] = [];
      for (let i = 0; i < 10; i++) {
        const res = await fetch(`${url}/v1/tasks`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: JSON.stringify({ repo: 'demo', task: `Task ${i}` }),
        });
        ids.push(((await res.json()) as { task: { id: string } }).task.id);
      }
      // Twelve streams: one per task, and two more on the first task.
      const streams = await Promise.all([...ids, ids[0]!, ids[0]!].map((id) => openStream(`${url}/v1/tasks/${id}/events`, { authorization: `Bearer ${token}` })));
      try {
        await waitFor(() => (streams.every((s) => s.events.length >= 1) ? true : undefined), 10_000, 'every stream to read its first event');
        // The first tick after a stream starts wakes it once; from the second on, nothing has changed.
        const settled = polls() + 2;
        await waitFor(() => (polls() >= settled ? true : undefined), 10_000, 'two polls');
        const from = queries.length;
        const firstPoll = polls();
        await waitFor(() => (polls() >= firstPoll + 5 ? true : undefined), 10_000, 'five more polls');
        const quiet = queries.slice(from);
        // Each tick is one query, however many streams are open; no stream read anything.
        expect(quiet.length).toBeGreaterThanOrEqual(5);
        expect(quiet.filter((q) => !isPoll(q))).toEqual([]);

        // An event written by "another process" (straight into the database, no local signal) wakes only its task's stream.
        const before = queries.length;
        await store.tasks.appendEvent(ids[3]!, { type: 'agent_message', message: 'hello' });
        await waitFor(() => (streams[3]!.events.some((e) => (e.data as { message?: string }).message === 'hello') ? true : undefined), 10_000, 'the event on its stream');
        const reads = queries.slice(before).filter((q) => !isPoll(q));
        expect(reads.length).toBeGreaterThan(0);
        for (const q of reads) expect(q.parameters).toContain(ids[3]);
        expect(streams.filter((s, i) => i !== 3).every((s) => s.events.length === 1)).toBe(true);
      } finally {
        for (const s of streams) s.close();
      }
    });
  });

  describe.skipIf(target.skipReason)(`credential re-checks on ${target.name}`, () => {
    let store: TestStore;
    let app: FastifyInstance;
    let url: string;
    const queries: Query[] = [];

    beforeAll(async () => {
      store = await target.open();
      // Frequent re-checks, rare polls: while nothing changes, only re-checks run.
      app = await buildApp({ store: countedStore(store, queries), signals: new TaskSignals(), logger: silentLogger, streamLimits: { recheckMs: 20, pollMs: 10 * 60_000 } });
      await app.listen({ host: '127.0.0.1', port: 0 });
      url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
      await store.repos.upsert({ name: 'demo', cloneUrl: 'file:///nowhere.git', defaultBranch: 'main', agent: 'command', agentSettings: { command: 'true' } });
    });
    afterAll(async () => {
      await app?.close();
      await store?.destroy();
    });

    const tokenChecks = () => queries.filter((q) => /^select "api_tokens"\."id" from "api_tokens"/.test(q.sql));
    const sessionChecks = () => queries.filter((q) => /^select "web_sessions"\."id" from "web_sessions"/.test(q.sql));

    it('checks the tokens and sessions of all open streams in one query each, and ends only the revoked ones', async () => {
      const tokens: { token: string; id: string }[] = [];
      for (const name of ['ann', 'bob', 'cy']) {
        const u = await store.users.ensure(name);
        const { token, info } = await store.users.createToken(u.id, 'w');
        tokens.push({ token, id: info.id });
      }
      // Each user watches a task of their own.
      const taskOf = new Map<string, string>();
      for (const t of tokens) taskOf.set(t.id, await createTask(url, t.token));
      const sessions: string[] = [];
      for (let i = 0; i < 2; i++) {
        const res = await fetch(`${url}/signin`, {
          method: 'POST',
          redirect: 'manual',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ token: tokens[2]!.token, next: '/' }).toString(),
        });
        sessions.push(res.headers.get('set-cookie')!.split(';')[0]!);
      }
      const byToken = await Promise.all(tokens.flatMap((t) => [0, 1].map(() => openStream(`${url}/v1/tasks/${taskOf.get(t.id)}/events`, { authorization: `Bearer ${t.token}` }))));
      const bySession = await Promise.all(sessions.map((cookie) => openStream(`${url}/v1/tasks/${taskOf.get(tokens[2]!.id)}/events`, { cookie })));
      const streams = [...byToken, ...bySession];
      try {
        expect(streams.map((s) => s.status)).toEqual(Array(8).fill(200));
        const from = { tokens: tokenChecks().length, sessions: sessionChecks().length };
        await waitFor(() => (tokenChecks().length >= from.tokens + 3 && sessionChecks().length >= from.sessions + 3 ? true : undefined), 10_000, 'three re-checks');
        // From the second check on, all streams are watched: each check is one query naming every token (or session).
        for (const q of tokenChecks().slice(from.tokens + 1)) expect(q.parameters).toEqual(expect.arrayContaining(tokens.map((t) => t.id)));
        const hashes = sessions.map((c) => createHash('sha256').update(decodeURIComponent(c.slice(c.indexOf('=') + 1))).digest('hex'));
        for (const q of sessionChecks().slice(from.sessions + 1)) expect(q.parameters).toEqual(expect.arrayContaining(hashes));

        await store.users.revokeToken(tokens[0]!.id);
        await waitFor(() => (byToken[0]!.ended && byToken[1]!.ended ? true : undefined), 10_000, 'the revoked token\'s streams to close');
        expect(byToken[0]!.events.at(-1)).toMatchObject({ event: 'closed' });
        const later = tokenChecks().length;
        await waitFor(() => (tokenChecks().length >= later + 2 ? true : undefined), 10_000, 'two more re-checks');
        expect(streams.slice(2).map((s) => s.ended)).toEqual(Array(6).fill(false));
      } finally {
        for (const s of streams) s.close();
      }
    });
  });
}

describe('the Secure cookie attribute', () => {
  let store: TestStore;
  const apps: FastifyInstance[] = [];

  beforeAll(async () => {
    store = await storeTargets[0]!.open();
    const u = await store.users.ensure('mia');
    token = (await store.users.createToken(u.id, 'web')).token;
  });
  afterAll(async () => {
    for (const a of apps) await a.close();
    await store?.destroy();
  });
  let token: string;

  async function signInCookie(opts: { publicUrl?: string; trustProxy?: boolean | number | string[] }, headers: Record<string, string> = {}): Promise<string> {
    const app = await buildApp({ store, signals: new TaskSignals(), logger: silentLogger, ...opts });
    apps.push(app);
    const res = await app.inject({
      method: 'POST',
      url: '/signin',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
      payload: new URLSearchParams({ token, next: '/' }).toString(),
    });
    expect(res.statusCode).toBe(303);
    return String(res.headers['set-cookie']);
  }

  it('is set with an https public URL', async () => {
    expect(await signInCookie({ publicUrl: 'https://agents.example.com' })).toContain('; Secure');
    expect(await signInCookie({ publicUrl: 'http://localhost:8080' })).not.toContain('Secure');
  });

  it('is set behind a trusted TLS proxy, and an untrusted X-Forwarded-Proto is ignored', async () => {
    const viaProxy = { 'x-forwarded-proto': 'https', 'x-forwarded-for': '203.0.113.9' };
    expect(await signInCookie({ trustProxy: true }, viaProxy)).toContain('; Secure');
    expect(await signInCookie({ trustProxy: ['127.0.0.1'] }, viaProxy)).toContain('; Secure');
    expect(await signInCookie({ trustProxy: 1 }, viaProxy)).toContain('; Secure');
    expect(await signInCookie({}, viaProxy)).not.toContain('Secure');
    expect(await signInCookie({ trustProxy: ['10.0.0.1'] }, viaProxy)).not.toContain('Secure');
    expect(await signInCookie({ trustProxy: true })).not.toContain('Secure');
  });
});
