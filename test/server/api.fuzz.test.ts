import { createHash, createHmac } from 'node:crypto';
import fc from 'fast-check';
import { sql } from 'kysely';
import type { InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { declaredRoutes, type DeclaredRoute } from '../../src/server/auth.js';
import type { Store } from '../../src/store/index.js';
import { DEFAULT_API_KEY, startLinearEmulator, type LinearEmulator } from '../support/linear/emulator.js';
import { postgresSkipReason } from '../support/databases.js';
import { startTestServer, type TestServer } from '../support/server.js';

/**
 * Every declared route, with random and boundary paths, query strings, headers, bodies and credentials:
 * no 5xx, no crash, and a 4xx changes no row. Routes come from declaredRoutes, so a new route is fuzzed
 * without a change here. In-process (inject) on each dialect; the orchestrator is stopped so that only the
 * requests write to the database (a 2xx may write; a snapshot is compared on every 4xx).
 */

const WEBHOOK_SECRET_ENV = 'BGAGENT_FUZZ_WEBHOOK_SECRET';
const OAUTH_SECRET_ENV = 'BGAGENT_FUZZ_OAUTH_SECRET';
const LINEAR_KEY_ENV = 'BGAGENT_FUZZ_LINEAR_KEY';

/** Columns any authenticated request may stamp, whatever its answer (throttled: a token's last use, a session's idle clock). */
const STAMP_COLUMNS: Record<string, string[]> = { api_tokens: ['last_used_at'], web_sessions: ['last_seen_at'] };

/** Each table's row count and a hash of its rows, read from the database's own catalogue. */
async function snapshot(store: Store): Promise<Record<string, string>> {
  const db = store.db.kysely;
  if (store.db.dialect === 'postgres') {
    // One round trip: every table's rows as JSON, without the stamp columns.
    const tables = (await sql<{ name: string }>`select tablename as name from pg_tables where schemaname = current_schema() order by 1`.execute(db)).rows;
    const parts = tables.map(({ name }) => {
      const row = sql`(to_jsonb(x) - ${sql.val(STAMP_COLUMNS[name] ?? [])}::text[])::text`;
      return sql`select ${name}::text as name, count(*)::text || ' rows, ' || md5(coalesce(string_agg(${row}, '|' order by ${row}), '')) as digest from ${sql.table(name)} x`;
    });
    const rows = (await sql<{ name: string; digest: string }>`${sql.join(parts, sql` union all `)}`.execute(db)).rows;
    return Object.fromEntries(rows.map((r) => [r.name, r.digest]));
  }
  const tables = (await sql<{ name: string }>`select name from sqlite_master where type = 'table' order by name`.execute(db)).rows;
  const out: Record<string, string> = {};
  for (const { name } of tables) {
    const rows = (await sql<Record<string, unknown>>`select * from ${sql.table(name)}`.execute(db)).rows;
    const hash = createHash('sha256');
    const lines = rows.map((row) => {
      for (const column of STAMP_COLUMNS[name] ?? []) delete row[column];
      return JSON.stringify(row);
    });
    for (const line of lines.sort()) hash.update(line).update('\n');
    out[name] = `${rows.length} rows, ${hash.digest('hex').slice(0, 16)}`;
  }
  return out;
}

const long = (n: number, unit = 'x') => unit.repeat(n);
const deepArray = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;
const deepObject = (depth: number) => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;

/** Strings that break parsers, paths and validators. */
const nastyStrings = [
  '', ' ', '-x', '--help', '..', '../..', '%00', '%zz', '%2e%2e', '%2F', 'a%2Fb', '\u0000', '\r\n', 'null', 'undefined', 'NaN', '-0', '1e309', 'true', '[]', '{}',
  '__proto__', 'constructor', 'prototype', "' or 1=1 --", '<script>alert(1)</script>', '${7*7}', 'ü', '💥', '\u202e', long(300), long(5000, 'é'), long(70_000),
];

interface World {
  server: TestServer;
  emu: LinearEmulator;
  tokens: { alice: string; bob: string; admin: string; revoked: string };
  session: { cookie: string; csrf: string | undefined };
  /** Ids a path parameter could name: tasks, tokens, repos, teams, of this user and another. */
  ids: string[];
  /** Bodies a route accepts, by "METHOD url", for the fuzz to break one field at a time (other routes get them all). */
  validBodies: Record<string, Array<Record<string, unknown>>>;
  /** Seeded tasks that are not terminal: their event stream would stay open. */
  activeTaskIds: Set<string>;
  webhookSecret: string;
}

interface FuzzRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  payload?: string | Buffer;
  /** What made this case, for the failure message. */
  label: string;
}

function arbitraries(w: World, route: DeclaredRoute) {
  const { tokens, session } = w;
  const text = fc.oneof(fc.constantFrom(...nastyStrings), fc.string({ maxLength: 40 }), fc.string({ unit: 'grapheme', maxLength: 20 }), fc.string({ unit: 'binary', maxLength: 20 }));
  const headerText = fc.oneof(fc.constantFrom('', ' ', '-x', 'null', long(300), long(9000)), fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 60 }));

  const param = fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(...w.ids) },
    { weight: 2, arbitrary: text.map(encodeURIComponent) },
    { weight: 1, arbitrary: fc.constantFrom('..', '%00', '%zz', '%2e%2e', '-x', '.', long(3000), '%F0%9F%92%A5', '%C0%AF', 'a/b', '') },
  );

  const queryValue = fc.oneof(
    text,
    fc.constantFrom('0', '-1', '1', '50', '200', '201', '1000', '1001', '2147483648', '9007199254740993', '1e309', 'NaN', 'Infinity', '0x10', '1.5', 'RUNNING', 'running,FAILED', 'BOGUS', 'demo', long(70_000)),
  );
  const queryKey = fc.oneof(fc.constantFrom('status', 'repo', 'limit', 'cursor', 'after', 'next', 'code', 'state', 'error', 'error_description', '__proto__', 'constructor', 'a[b]', ''), text);
  const query = fc.oneof(
    { weight: 2, arbitrary: fc.constant('') },
    { weight: 4, arbitrary: fc.array(fc.tuple(queryKey, queryValue), { maxLength: 6 }).map((pairs) => new URLSearchParams(pairs).toString()) },
    { weight: 1, arbitrary: fc.constantFrom('%zz=1', 'limit=1&limit=2', 'a=%00', '&&&', '=', '?', 'status', long(20_000, 'a=b&')) },
  );

  // Mostly real credentials, so that most cases get past the access check into the handler.
  const authorization = fc.oneof(
    { weight: 5, arbitrary: fc.constant(`Bearer ${tokens.admin}`) },
    { weight: 4, arbitrary: fc.constant(`Bearer ${tokens.alice}`) },
    { weight: 2, arbitrary: fc.constant(`Bearer ${tokens.bob}`) },
    { weight: 2, arbitrary: fc.constant(undefined) },
    {
      weight: 2,
      arbitrary: fc.constantFrom(
        `Bearer ${tokens.revoked}`,
        `bearer ${tokens.alice}`,
        `Bearer ${tokens.alice} extra`,
        'Bearer',
        'Bearer ',
        `Basic ${Buffer.from('admin:admin').toString('base64')}`,
        `Token ${tokens.admin}`,
        `Bearer ${long(9000)}`,
        'Bearer bga_00000000000000000000000000000000',
      ),
    },
  );
  const cookie = fc.constantFrom(undefined, session.cookie, `${session.cookie}; other=1`, 'bgagent_session=%zz', 'bgagent_session=', 'bgagent_session', ';;;=;', `bgagent_session=${tokens.admin}`, `bgagent_session=${long(9000)}`, `x=1; ${session.cookie}`);
  const csrf = fc.constantFrom(undefined, session.csrf, 'wrong', '', long(9000));
  const contentType = fc.oneof({ weight: 5, arbitrary: fc.constant('application/json') }, { weight: 2, arbitrary: fc.constantFrom(
    'application/json; charset=utf-8',
    'application/json; charset=utf-16',
    'APPLICATION/JSON',
    'application/x-www-form-urlencoded',
    'text/plain',
    'multipart/form-data; boundary=x',
    'application/octet-stream',
    'application/vnd.api+json',
    '',
    ';;',
    long(2000, 'a/'),
  ) });
  const optionalHeader = (values: fc.Arbitrary<string | undefined>) => fc.option(values, { nil: undefined });
  const headers = fc.record(
    {
      authorization,
      cookie,
      'x-csrf-token': csrf,
      'content-type': contentType,
      accept: optionalHeader(fc.constantFrom('application/json', 'text/event-stream', 'text/html', '*/*', '', long(5000))),
      'idempotency-key': optionalHeader(fc.oneof(fc.constantFrom('', ' ', 'k', long(200), long(201), long(9000), 'é'), headerText)),
      'x-bgagent-client': optionalHeader(fc.oneof(fc.constantFrom('cli', 'CLI', 'web', ''), headerText)),
      'x-forwarded-for': optionalHeader(fc.constantFrom('127.0.0.1', '::1, 10.0.0.1', 'garbage', long(5000, '1.'))),
      'x-forwarded-proto': optionalHeader(fc.constantFrom('https', 'http', 'gopher', '')),
      'x-forwarded-host': optionalHeader(fc.constantFrom('evil.example', '', 'a:b:c')),
      host: optionalHeader(fc.constantFrom('localhost', 'evil.example', '', 'a:b:c', '[::1]:80', long(3000))),
      origin: optionalHeader(fc.constantFrom('http://localhost', 'http://localhost:80', 'https://evil.example', 'null', '', '::', long(3000))),
      'last-event-id': optionalHeader(fc.constantFrom('0', '-1', '1', '2147483648', '1e309', 'NaN', '99999999999999999999', 'x')),
      'linear-delivery': optionalHeader(headerText),
      'x-extra': optionalHeader(headerText),
    },
    { requiredKeys: [] },
  );

  const knownValue = fc.oneof(
    fc.constantFrom<unknown>(
      null, true, false, 0, -1, 1, 1.5, 2 ** 31, Number.MAX_SAFE_INTEGER + 2, -Number.MAX_VALUE, [], {}, [1, 'a'], { command: 'true' }, { nested: { deeper: [null] } },
      'demo', 'acme/app', 'fix the bug', 'file:///nowhere.git', 'https://example.invalid/repo.git', '-uhttps://x', 'ext::sh -c id', 'main', 'command', 'claude',
      'carol', 'ENG', DEFAULT_API_KEY, `env:${LINEAR_KEY_ENV}`, 'vault:nothing', 'ada@acme.test', 'Issue', 'create', Date.now(),
    ),
    text,
    fc.constantFrom(...w.ids),
  );
  const fieldName = fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom('repo', 'task', 'issue', 'max_turns', 'max_budget_usd', 'text', 'name', 'clone_url', 'default_branch', 'agent', 'agent_settings', 'user', 'max_concurrent', 'team_id', 'api_key', 'api_key_ref', 'signing_secret', 'signing_secret_ref', 'project_id', 'label', 'workspace_id', 'linear_user', 'token', 'next', 'csrf', 'type', 'action', 'organizationId', 'webhookTimestamp', 'data', 'url') },
    { weight: 1, arbitrary: text },
  );
  const fields = fc.dictionary(fieldName, knownValue, { maxKeys: 6 });
  // A valid body, as it is, without one field, or with one field set to a boundary value.
  const nearlyValid = fc
    .tuple(fc.constantFrom(...(w.validBodies[`${route.method} ${route.url}`] ?? Object.values(w.validBodies).flat())), fc.constantFrom('as-is', 'drop', 'set'), fieldName, knownValue)
    .map(([valid, how, field, value]) => {
      const body: Record<string, unknown> = { ...valid };
      const keys = Object.keys(body);
      if (how === 'drop' && keys.length) delete body[keys[field.length % keys.length]!];
      if (how === 'set') body[keys.includes(field) || !keys.length ? field : keys[field.length % keys.length]!] = value;
      return body;
    });

  /** Bodies: JSON of known fields, any JSON, texts JSON.stringify never writes, and bytes that are not UTF-8. */
  const body: fc.Arbitrary<string | Buffer | undefined> = fc.oneof(
    { weight: 1, arbitrary: fc.constantFrom<Buffer>(Buffer.from([0xff, 0xfe, 0x00, 0x7b]), Buffer.concat([Buffer.from('{"task":"'), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from('"}')]), Buffer.from([0xc0, 0xaf])) },
    { weight: 2, arbitrary: fc.constant(undefined) },
    { weight: 6, arbitrary: fields.map((o) => JSON.stringify(o)) },
    { weight: 8, arbitrary: nearlyValid.map((o) => JSON.stringify(o)) },
    { weight: 1, arbitrary: nearlyValid.map((o) => new URLSearchParams(Object.entries(o).map(([k, v]): [string, string] => [k, String(v)])).toString()) },
    { weight: 2, arbitrary: fc.jsonValue().map((v) => JSON.stringify(v)) },
    { weight: 1, arbitrary: fc.anything().map((v) => { try { return JSON.stringify(v) ?? 'undefined'; } catch { return String(v); } }) },
    { weight: 1, arbitrary: fields.map((o) => new URLSearchParams(Object.entries(o).map(([k, v]): [string, string] => [k, String(v)])).toString()) },
    {
      weight: 2,
      arbitrary: fc.constantFrom(
        '', 'null', '[]', '"str"', '1', '{', '}', '{"a":', '\uFEFF{}', 'NaN', 'undefined',
        '{"max_turns":1e309}', '{"max_budget_usd":-0}', '{"max_budget_usd":1e-400}', '{"max_turns":NaN}', '{"repo":"demo","task":"x","repo":"acme/app"}',
        '{"__proto__":{"isAdmin":true}}', '{"constructor":{"prototype":{"isAdmin":true}}}', '{"repo":"demo","task":"x","__proto__":{"x":1}}', '{"repo":"demo","task":"a\\u0000b"}', '{"text":"\\u0000"}', '{"\\u0000":1}', '{"organizationId":"\\u0000"}', '{"repo":"demo","task":"\\ud800"}', '{"name":"x","clone_url":"file:///n.git","agent_settings":{"command":"\\udfff"}}',
        deepArray(5000), deepObject(5000), `{"task":"${long(300_000)}"}`, `{"text":"${long(70_000)}"}`, long(1_100_000, ' '),
        'token=x&next=%2F', 'token=&next=//evil.example', 'csrf=wrong', 'a=%zz', '\u0000\u0000',
      ),
    },
  );
  const signature = fc.constantFrom('none', 'random', 'wrong-secret', 'stale', 'uppercase');
  return { param, query, headers, body, signature, text };
}

/**
 * The Linear-Signature of a forged or replayed webhook: none, not an HMAC, an HMAC with another secret (also in
 * upper case), or the real secret's HMAC over a body too old to be accepted (`stale`). Never one that is accepted:
 * an accepted delivery would be processed in the background, writing while other cases run.
 */
function webhookSignatureFor(kind: string, payload: string, secret: string): string | undefined {
  switch (kind) {
    case 'none':
      return undefined;
    case 'random':
      return createHash('sha256').update(payload).digest('hex');
    case 'wrong-secret':
      return createHmac('sha256', 'not-the-secret').update(payload).digest('hex');
    case 'uppercase':
      return createHmac('sha256', 'not-the-secret').update(payload).digest('hex').toUpperCase();
    default:
      return createHmac('sha256', secret).update(payload).digest('hex');
  }
}

function requestFor(w: World, route: DeclaredRoute) {
  const a = arbitraries(w, route);
  const params = (route.url.match(/:[A-Za-z]+|\*/g) ?? []).map(() => a.param);
  return fc
    .record({
      params: fc.tuple(...params),
      query: a.query,
      headers: a.headers,
      body: a.body,
      signature: a.signature,
      staleBody: fc.record({ type: fc.constantFrom('Issue', 'AgentSessionEvent', 'OAuthApp'), action: fc.constantFrom('create', 'update', 'created'), organizationId: a.text, webhookTimestamp: fc.integer({ min: 0, max: Date.now() - 10 * 60_000 }) }),
    })
    .map(({ params, query, headers, body, signature, staleBody }): FuzzRequest => {
      let i = 0;
      const path = route.url.replace(/:[A-Za-z]+|\*/g, () => params[i++]!);
      const url = query ? `${path}?${query}` : path;
      const h: Record<string, string> = {};
      for (const [k, v] of Object.entries(headers)) if (v !== undefined) h[k] = v;
      // An open event stream on a live task never ends: streams are fuzzed on terminal and unknown tasks.
      if (h.accept === 'text/event-stream' && params.some((p) => w.activeTaskIds.has(p))) h.accept = 'application/json';
      let payload = body;
      if (route.url === '/v1/linear/webhook') {
        if (signature === 'stale') payload = JSON.stringify(staleBody);
        const sig = payload === undefined ? undefined : webhookSignatureFor(signature, payload.toString(), w.webhookSecret);
        if (sig !== undefined) h['linear-signature'] = sig;
      }
      if (route.method === 'GET' || route.method === 'HEAD') payload = undefined;
      if (payload === undefined) delete h['content-type'];
      const size = payload === undefined ? 0 : payload.length;
      return { method: route.method, url, headers: h, payload, label: `${route.method} ${url.slice(0, 200)} (${size} bytes, headers ${Object.keys(h).join(',')})` };
    });
}

/** A browser session as the web page gets one: the sign-in form, then the CSRF token from a page. */
async function signIn(server: TestServer, token: string): Promise<World['session']> {
  const signin = await fetch(`${server.url}/signin`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', origin: server.url },
    body: new URLSearchParams({ token, next: '/' }).toString(),
  });
  expect(signin.status).toBe(303);
  const cookie = signin.headers.get('set-cookie')!.split(';')[0]!;
  const page = await (await fetch(`${server.url}/`, { headers: { cookie } })).text();
  return { cookie, csrf: page.match(/name="csrf-token" content="([^"]+)"/)?.[1] };
}

/** BGAGENT_FUZZ_SCALE multiplies the runs for a longer search (e.g. 10); the default keeps the suite under a minute. */
const scale = Number(process.env.BGAGENT_FUZZ_SCALE ?? 1);
const DIALECTS = [
  { dialect: 'sqlite', runsPerRoute: Math.round(120 * scale) },
  { dialect: 'postgres', runsPerRoute: Math.round(50 * scale) },
] as const;

for (const { dialect, runsPerRoute } of DIALECTS) describe.skipIf(dialect === 'postgres' && postgresSkipReason)(`HTTP fuzz of every route (${dialect})`, () => {
  let w: World;
  const summary = new Map<string, Map<number, number>>();

  /** Readiness says 503 on purpose: the orchestrator is stopped. A HEAD has no body, so its GET twin is asked why. */
  async function notReadyOnPurpose(req: InjectOptions, res: { statusCode: number; body: string }): Promise<boolean> {
    if (res.statusCode !== 503) return false;
    const body = req.method === 'HEAD' ? (await w.server.app.inject({ ...req, method: 'GET' })).body : res.body;
    return body.includes('workers are not running');
  }

  async function expectHandled(req: InjectOptions & { url: string }, label: string, statuses: Map<number, number>): Promise<void> {
    const before = await snapshot(w.server.store);
    const res = await w.server.app.inject(req);
    statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
    if (!(await notReadyOnPurpose(req, res))) expect(res.statusCode, `${label}: ${res.body.slice(0, 500)}`).toBeLessThan(500);
    if (res.statusCode >= 400) expect(await snapshot(w.server.store), `${label} answered ${res.statusCode} but wrote`).toEqual(before);
  }

  beforeAll(async () => {
    const webhookSecret = `whsec-${Math.random().toString(36).slice(2)}`;
    process.env[WEBHOOK_SECRET_ENV] = webhookSecret;
    process.env[OAUTH_SECRET_ENV] = 'fuzz-oauth-client-secret';
    process.env[LINEAR_KEY_ENV] = DEFAULT_API_KEY;
    const emu = await startLinearEmulator();
    const server = await startTestServer({
      dialect,
      env: {
        // X-Forwarded-* are believed, so the fuzzed ones reach req.protocol and req.host.
        BGAGENT_TRUST_PROXY: 'true',
        LINEAR_API_URL: emu.url,
        LINEAR_API_KEY: `env:${LINEAR_KEY_ENV}`,
        LINEAR_WEBHOOK_SECRET: `env:${WEBHOOK_SECRET_ENV}`,
        LINEAR_OAUTH_CLIENT_ID: 'fuzz-client',
        LINEAR_OAUTH_CLIENT_SECRET: `env:${OAUTH_SECRET_ENV}`,
        LINEAR_OAUTH_AUTHORIZE_URL: emu.authorizeUrl,
        LINEAR_OAUTH_TOKEN_URL: emu.tokenUrl,
      },
    });
    // No task runs: every row written afterwards is written by a request.
    await server.orchestrator.stop(0);

    const ok = async (method: string, path: string, body: unknown, token = server.adminToken) => {
      const res = await server.api(method, path, { body, token });
      expect(res.status, `${method} ${path}: ${JSON.stringify(res.body)}`).toBeLessThan(300);
      return res.body;
    };
    await ok('POST', '/v1/repos', { name: 'demo', clone_url: 'file:///nowhere.git', agent: 'command', agent_settings: { command: 'true' } });
    await ok('POST', '/v1/repos', { name: 'acme/app', clone_url: 'file:///nowhere-else.git', agent: 'command', agent_settings: { command: 'true' } });
    const alice = (await ok('POST', '/v1/tokens', { user: 'alice' })).token as string;
    const bob = (await ok('POST', '/v1/tokens', { user: 'bob' })).token as string;
    const aliceSpare = (await ok('POST', '/v1/tokens', { user: 'alice', name: 'spare' })).info.id as string;
    const bobSpare = (await ok('POST', '/v1/tokens', { user: 'bob', name: 'spare' })).info.id as string;
    const revokedToken = await ok('POST', '/v1/tokens', { user: 'alice', name: 'revoked' });
    await ok('DELETE', `/v1/tokens/${revokedToken.info.id}`, undefined);
    const aliceTask = (await ok('POST', '/v1/tasks', { repo: 'demo', task: 'alive' }, alice)).task.id as string;
    const bobTask = (await ok('POST', '/v1/tasks', { repo: 'demo', task: 'alive' }, bob)).task.id as string;
    const aliceDone = (await ok('POST', '/v1/tasks', { repo: 'acme/app', task: 'done' }, alice)).task.id as string;
    await ok('DELETE', `/v1/tasks/${aliceDone}`, undefined, alice);
    await ok('POST', '/v1/linear/team-repos', { team_id: 'ENG', repo: 'demo' });
    // A Linear workspace (the emulator's), so that project and link routes get past "not set up".
    await ok('POST', '/v1/linear/setup', {});
    const project = emu.state.addProject({ name: 'Fuzz' });
    const install = (await ok('POST', '/v1/linear/oauth/installs', undefined)).install.id as string;

    const session = await signIn(server, alice);
    w = {
      server,
      emu,
      tokens: { alice, bob, admin: server.adminToken, revoked: revokedToken.token },
      session,
      ids: [aliceTask, bobTask, aliceDone, aliceSpare, bobSpare, revokedToken.info.id, 'demo', 'acme/app', 'ENG', 'missing/repo', project.id, install, emu.seeded!.organization.id, '01ARZ3NDEKTSV4RRFFQ69G5FAV', '00000000000000000000000000'],
      validBodies: {
        'POST /v1/tasks': [{ repo: 'demo', task: 'fix the bug' }, { repo: 'acme/app', task: 'x', issue: 'ENG-1', max_turns: 5, max_budget_usd: 1.5 }],
        'POST /v1/tasks/:id/input': [{ text: 'a follow-up' }],
        'POST /v1/repos': [
          { name: 'fuzzed', clone_url: 'file:///nowhere.git', agent: 'command', agent_settings: { command: 'true' } },
          { name: 'fuzzed/claude', clone_url: 'https://example.invalid/x.git', default_branch: 'dev', agent: 'claude' },
        ],
        'POST /v1/tokens': [{ user: 'carol', name: 'ci', max_concurrent: 2 }],
        'POST /v1/linear/team-repos': [{ team_id: 'ENG', repo: 'acme/app' }],
        'POST /v1/linear/projects': [{ project_id: project.id, repo: 'demo', label: 'agent' }],
        'POST /v1/linear/links': [{ linear_user: 'ada@acme.test', user: 'alice' }],
        'POST /v1/linear/setup': [{}, { api_key: DEFAULT_API_KEY }, { api_key_ref: `env:${LINEAR_KEY_ENV}` }],
        'POST /signin': [{ token: alice, next: '/tasks' }],
        'POST /signout': [{ csrf: session.csrf ?? '' }],
      },
      activeTaskIds: new Set([aliceTask, bobTask]),
      webhookSecret,
    };
  }, 60_000);

  afterAll(async () => {
    const rows = [...summary].map(([route, statuses]) => {
      const cases = [...statuses.values()].reduce((a, b) => a + b, 0);
      const histogram = [...statuses].sort(([a], [b]) => a - b).map(([s, n]) => `${s}:${n}`).join(' ');
      return { route, cases, histogram };
    });
    const total = rows.reduce((a, r) => a + r.cases, 0);
    console.log(`HTTP fuzz (${dialect}): ${total} cases over ${rows.length - 1} routes and any method on any path\n${rows.map((r) => `  ${r.route.padEnd(44)} ${String(r.cases).padStart(5)}  ${r.histogram}`).join('\n')}`);
    await w?.server.destroy();
    await w?.emu.close();
    for (const name of [WEBHOOK_SECRET_ENV, OAUTH_SECRET_ENV, LINEAR_KEY_ENV]) delete process.env[name];
  });

  it('fuzzes the whole app: every surface serve builds is among the declared routes', () => {
    const routes = declaredRoutes(w.server.app).map((r) => `${r.method} ${r.url}`);
    expect(routes).toEqual(expect.arrayContaining(['GET /readyz', 'GET /metrics', 'POST /signin', 'POST /v1/linear/webhook', 'GET /v1/linear/oauth/callback', 'POST /v1/tasks', 'POST /v1/linear/setup', 'POST /v1/linear/team-repos']));
  });

  // Found by this fuzz: PostgreSQL refuses U+0000 in text, so these were 500s there (and stored on SQLite).
  it('refuses a NUL in a path, query or body with 400 on both dialects, writing nothing', async () => {
    const cases: Array<[string, string, unknown?]> = [
      ['GET', '/v1/tasks/%00'],
      ['GET', '/v1/tasks?repo=demo%00'],
      ['GET', '/v1/repos/%00'],
      ['DELETE', '/v1/linear/team-repos/%00'],
      ['POST', '/v1/tasks', { repo: 'demo', task: 'a\u0000b' }],
      ['POST', '/v1/tokens', { user: 'carol', name: 'x\u0000' }],
      ['POST', '/v1/linear/team-repos', { team_id: '\u0000', repo: 'demo' }],
    ];
    for (const [method, path, body] of cases) {
      const before = await snapshot(w.server.store);
      const res = await w.server.api(method, path, { body });
      expect({ path, status: res.status, code: res.body.error?.code }).toEqual({ path, status: 400, code: 'VALIDATION_ERROR' });
      expect(await snapshot(w.server.store)).toEqual(before);
    }
    // An unsigned webhook whose organization id holds one: PostgreSQL refused the workspace look-up (500).
    const before = await snapshot(w.server.store);
    const res = await w.server.api('POST', '/v1/linear/webhook', { token: null, headers: { 'content-type': 'application/json' }, rawBody: '{"type":"Issue","organizationId":"\\u0000"}' });
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
    expect(await snapshot(w.server.store)).toEqual(before);
  });

  // Found by this fuzz (fixed in src/server/web): csrfTokenMatches got the parsed JSON value, and Buffer.from threw on a non-string.
  it('answers a sign-out with a cookie and a csrf that is not a string 403, not 500', async () => {
    for (const csrf of [1.5, null, { nested: true }, ['x']]) {
      const res = await w.server.app.inject({ method: 'POST', url: '/signout', headers: { cookie: 'bgagent_session=anything', 'content-type': 'application/json' }, payload: JSON.stringify({ csrf }) });
      expect({ csrf, status: res.statusCode }).toEqual({ csrf, status: 403 });
    }
  });

  // Found by this fuzz (fixed in src/server/linear-admin-routes.ts): a reference that does not resolve is the admin's
  // mistake, not Linear being away; a key with control characters cannot be a header (the HTTP client refused it,
  // UND_ERR_INVALID_ARG). Both were answered 503 'could not reach Linear'.
  it('answers a Linear setup with a key or key reference that cannot work 400, not 503', async () => {
    for (const body of [{ api_key_ref: 'vault:nothing' }, { api_key_ref: '\u0001\u0001\u0001' }, { api_key: `lin_api_${'\u0001'.repeat(8)}` }]) {
      const res = await w.server.api('POST', '/v1/linear/setup', { body });
      expect({ body, status: res.status, code: res.body.error?.code }).toEqual({ body, status: 400, code: 'VALIDATION_ERROR' });
    }
  });

  it('answers any method on any path, declared or not, below 500, and a 4xx writes nothing', async () => {
    const a = arbitraries(w, { method: 'POST', url: '/', access: 'public' });
    const urls = declaredRoutes(w.server.app).map((r) => r.url);
    const path = fc.oneof(
      fc.tuple(fc.constantFrom(...urls), a.param, fc.constantFrom('', '/', '/x', '/../..', '//', '/%2e%2e/healthz', '?')).map(([url, p, tail]) => `${url.replace(/:[A-Za-z]+|\*/g, p)}${tail}`),
      fc.constantFrom('/v1', '/v1/', '//v1//tasks', '/v1/../readyz', '/V1/TASKS', '/%2e%2e/%2e%2e/etc/passwd', '/assets/', '/assets/../signin', '/tasks', '/tasks/', `/${long(5000)}`),
    );
    const statuses = new Map<number, number>();
    summary.set('* (any method, any path)', statuses);
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'), path, a.headers, a.body, async (method, url, headers, payload) => {
        const h: Record<string, string> = {};
        for (const [k, v] of Object.entries(headers)) if (v !== undefined) h[k] = v;
        if (h.accept === 'text/event-stream') delete h.accept;
        const body = method === 'GET' || method === 'HEAD' ? undefined : payload;
        await expectHandled({ method: method as InjectOptions['method'], url, headers: h, payload: body }, `${method} ${url.slice(0, 200)}`, statuses);
      }),
      { numRuns: runsPerRoute * 2 },
    );
  }, 60_000 * scale);

  it('answers every route below 500, and a 4xx writes nothing', async () => {
    const routes = declaredRoutes(w.server.app);
    const failures: string[] = [];
    for (const route of routes) {
      const key = `${route.method} ${route.url}`;
      const statuses = new Map<number, number>();
      summary.set(key, statuses);
      // A fresh session for each route: a fuzzed sign-out ends the one before.
      w.session = await signIn(w.server, w.tokens.alice);
      await fc.assert(
        fc.asyncProperty(requestFor(w, route), (req) =>
          expectHandled({ method: req.method as InjectOptions['method'], url: req.url, headers: req.headers, payload: req.payload }, req.label, statuses),
        ),
        { numRuns: runsPerRoute },
      ).catch((err: unknown) => failures.push(`${key}: ${(err as Error).message.slice(0, 3000)}\n${String((err as Error).cause ?? '').slice(0, 2000)}`));
    }
    expect(failures.join('\n\n')).toBe('');
  }, 240_000 * scale);

  it('is still up after the fuzz, over real HTTP', async () => {
    expect((await fetch(`${w.server.url}/healthz`)).status).toBe(200);
    expect((await w.server.api('GET', '/readyz')).body.reason).toMatch(/workers are not running/);
    expect((await w.server.api('GET', '/v1/me', { token: w.tokens.alice })).body.user.name).toBe('alice');
  });
});
