import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log.js';
import { TaskSignals } from '../../src/tasks/signals.js';
import { buildApp } from '../../src/server/app.js';
import { ASSETS } from '../../src/server/web/assets.js';
import { csrfTokenFor } from '../../src/server/web/session.js';
import { storeTargets, type TestStore } from '../support/databases.js';

/** Sign-in, the session cookie on /v1, CSRF on state changes; bearer requests unchanged. SQLite only: no SQL here differs. */
describe('web sessions', () => {
  let store: TestStore;
  let app: FastifyInstance;
  let url: string;
  let token: string;
  let otherToken: string;

  beforeAll(async () => {
    store = await storeTargets[0]!.open();
    app = await buildApp({ store, signals: new TaskSignals(), logger: silentLogger });
    await app.listen({ host: '127.0.0.1', port: 0 });
    url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    const admin = await store.users.ensure('admin', { isAdmin: true });
    token = (await store.users.createToken(admin.id, 'web')).token;
    const dana = await store.users.ensure('dana');
    otherToken = (await store.users.createToken(dana.id, 'web')).token;
    await store.repos.upsert({ name: 'demo', cloneUrl: 'file:///nowhere.git', defaultBranch: 'main', agent: 'command', agentSettings: { command: 'true' } });
  });
  afterAll(async () => {
    await app?.close();
    await store?.destroy();
  });

  const form = (fields: Record<string, string>, headers: Record<string, string> = {}) => ({
    method: 'POST',
    redirect: 'manual' as const,
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(fields).toString(),
  });

  async function signIn(t: string, next = '/'): Promise<string> {
    const res = await fetch(`${url}/signin`, form({ token: t, next }, { origin: url }));
    expect(res.status).toBe(303);
    const cookie = res.headers.get('set-cookie')!;
    return cookie.split(';')[0]!;
  }

  /** The CSRF token the pages of this cookie's session carry. */
  const csrfOf = (cookie: string) => csrfTokenFor(decodeURIComponent(cookie.slice(cookie.indexOf('=') + 1)));

  it('sends a visitor without a session to the sign-in form', async () => {
    const res = await fetch(`${url}/?status=RUNNING`, { redirect: 'manual' });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/signin?next=%2F%3Fstatus%3DRUNNING');
    const page = await fetch(`${url}/signin?next=%2Ftasks%2Fx`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    const html = await page.text();
    expect(html).toContain('name="token"');
    expect(html).toContain('value="/tasks/x"');
  });

  it('redirects after sign-in only to a path that resolves to this origin', async () => {
    const hostile = ['/\t/evil.example/x', '/\n/evil.example', '//evil.example', '/\\evil.example', 'https://evil.example', 'javascript:alert(1)', ' //evil.example', '/.//evil.example/x', '/a/..//evil.example', '/%2e%2e//evil.example', '/%2E//evil.example'];
    for (const next of hostile) {
      const res = await fetch(`${url}/signin`, form({ token, next }, { origin: url }));
      expect({ next, location: res.headers.get('location') }).toEqual({ next, location: '/' });
      const page = await (await fetch(`${url}/signin?next=${encodeURIComponent(next)}`)).text();
      expect(page).toContain('name="next" value="/"');
    }
    const res = await fetch(`${url}/signin`, form({ token, next: '/tasks/01ABC?x=1' }, { origin: url }));
    expect(res.headers.get('location')).toBe('/tasks/01ABC?x=1');
  });

  it('refuses an unknown token and sets no cookie', async () => {
    const res = await fetch(`${url}/signin`, form({ token: 'bga_not-a-real-token', next: '/' }));
    expect(res.status).toBe(401);
    expect(res.headers.get('set-cookie')).toBeNull();
    expect(await res.text()).toContain('That token is not valid');
  });

  it('signs in with an HttpOnly, SameSite=Strict cookie and redirects only to local paths', async () => {
    const res = await fetch(`${url}/signin`, form({ token, next: '/tasks/01ARZ3NDEKTSV4RRFFQ69G5FAV' }, { origin: url }));
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/tasks/01ARZ3NDEKTSV4RRFFQ69G5FAV');
    const cookie = res.headers.get('set-cookie')!;
    expect(cookie).toMatch(/^bgagent_session=/);
    expect(cookie).toContain('HttpOnly');
    expect(cookie).toContain('SameSite=Strict');
    expect(cookie).toContain('Path=/');
    for (const next of ['//evil.example/', 'https://evil.example/', '/\\evil.example']) {
      const r = await fetch(`${url}/signin`, form({ token, next }));
      expect(r.headers.get('location')).toBe('/');
    }
  });

  it('refuses a sign-in posted from another site', async () => {
    const res = await fetch(`${url}/signin`, form({ token, next: '/' }, { origin: 'http://evil.example' }));
    expect(res.status).toBe(403);
    expect(res.headers.get('set-cookie')).toBeNull();
  });

  it('renders pages with the CSRF token for the session, never the API token', async () => {
    const cookie = await signIn(token);
    const res = await fetch(`${url}/`, { headers: { cookie } });
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const html = await res.text();
    expect(html).toContain(`<meta name="csrf-token" content="${csrfOf(cookie)}">`);
    expect(html).not.toContain(csrfTokenFor(token));
    expect(html).toContain('Signed in as <strong>admin</strong>');
    expect(html).toContain('"dana"');
    expect(html).not.toContain(token);
    const taskPage = await fetch(`${url}/tasks/01ARZ3NDEKTSV4RRFFQ69G5FAV`, { headers: { cookie } });
    expect(await taskPage.text()).toContain('data-task-id="01ARZ3NDEKTSV4RRFFQ69G5FAV"');
    expect((await fetch(`${url}/tasks/not-an-id`, { headers: { cookie } })).status).toBe(404);
  });

  it('serves the assets with long-lived caching', async () => {
    const js = await fetch(`${url}${ASSETS.js.path}`);
    expect(js.status).toBe(200);
    expect(js.headers.get('content-type')).toContain('text/javascript');
    expect(js.headers.get('cache-control')).toContain('immutable');
    expect(await js.text()).toContain('EventSource');
    expect((await fetch(`${url}${ASSETS.css.path}`)).headers.get('content-type')).toContain('text/css');
  });

  it('lets the session cookie read the API, but state changes need the CSRF header', async () => {
    const cookie = await signIn(otherToken);
    const adminCookie = await signIn(token);
    const list = await fetch(`${url}/v1/tasks`, { headers: { cookie } });
    expect(list.status).toBe(200);

    const create = (headers: Record<string, string>) =>
      fetch(`${url}/v1/tasks`, { method: 'POST', headers: { cookie, 'content-type': 'application/json', ...headers }, body: JSON.stringify({ repo: 'demo', task: 'From the page' }) });
    const noCsrf = await create({});
    expect(noCsrf.status).toBe(403);
    expect(((await noCsrf.json()) as { error: { code: string } }).error.code).toBe('FORBIDDEN');
    expect((await create({ 'x-csrf-token': csrfOf(adminCookie) })).status).toBe(403);
    expect((await create({ 'x-csrf-token': csrfTokenFor(otherToken) })).status).toBe(403);
    expect(await store.tasks.list({ limit: 10 })).toHaveLength(0);

    const created = await create({ 'x-csrf-token': csrfOf(cookie) });
    expect(created.status).toBe(201);
    const id = ((await created.json()) as { task: { id: string } }).task.id;
    expect((await fetch(`${url}/v1/tasks/${id}`, { method: 'DELETE', headers: { cookie } })).status).toBe(403);
    const cancelled = await fetch(`${url}/v1/tasks/${id}`, { method: 'DELETE', headers: { cookie, 'x-csrf-token': csrfOf(cookie) } });
    expect(cancelled.status).toBe(200);
    expect(((await cancelled.json()) as { task: { status: string; cancelled_by: string } }).task).toMatchObject({ status: 'CANCELLED', cancelled_by: 'dana' });
  });

  it('leaves bearer requests unchanged: no CSRF header needed, and the header wins over a cookie', async () => {
    const cookie = await signIn(otherToken);
    const res = await fetch(`${url}/v1/tasks`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, cookie, 'content-type': 'application/json' },
      body: JSON.stringify({ repo: 'demo', task: 'From a script' }),
    });
    expect(res.status).toBe(201);
    expect(((await res.json()) as { task: { user_id: string } }).task.user_id).toBe((await store.users.getByName('admin'))!.id);
    expect((await fetch(`${url}/v1/tasks`, { headers: { authorization: 'Bearer nope', cookie } })).status).toBe(401);
  });

  it('signs out only with the page CSRF token, and signing out ends the session on the server', async () => {
    const dana = await store.users.getByName('dana');
    const t = (await store.users.createToken(dana!.id, 'short-lived')).token;
    const cookie = await signIn(t);
    const refused = await fetch(`${url}/signout`, form({ csrf: 'wrong' }, { cookie }));
    expect(refused.status).toBe(403);
    expect((await fetch(`${url}/v1/tasks`, { headers: { cookie } })).status).toBe(200);
    const out = await fetch(`${url}/signout`, form({ csrf: csrfOf(cookie) }, { cookie }));
    expect(out.status).toBe(303);
    expect(out.headers.get('location')).toBe('/signin');
    expect(out.headers.get('set-cookie')).toMatch(/^bgagent_session=; Max-Age=0/);
    // A copy of the cookie kept after sign-out is worth nothing.
    expect((await fetch(`${url}/v1/tasks`, { headers: { cookie } })).status).toBe(401);
    expect((await fetch(`${url}/`, { headers: { cookie }, redirect: 'manual' })).status).toBe(303);
    // The token itself still works.
    expect((await fetch(`${url}/v1/tasks`, { headers: { authorization: `Bearer ${t}` } })).status).toBe(200);
  });

  it('refuses the API token itself as a session cookie', async () => {
    const res = await fetch(`${url}/v1/tasks`, { headers: { cookie: `bgagent_session=${encodeURIComponent(token)}` } });
    expect(res.status).toBe(401);
  });
});
