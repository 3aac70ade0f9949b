import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { declaredRoutes, installAccessControl } from '../../src/server/auth.js';
import type { Store } from '../../src/store/index.js';
import { startTestServer, type TestServer } from '../support/server.js';

/** Linear and repository administration, and every user's tokens: never for a plain user. */
const ADMIN_ROUTES = [
  'POST /v1/repos',
  'DELETE /v1/repos/*',
  'POST /v1/tokens',
  'POST /v1/linear/setup',
  'GET /v1/linear/workspaces',
  'POST /v1/linear/projects',
  'GET /v1/linear/projects',
  'DELETE /v1/linear/projects/:id',
  'POST /v1/linear/links',
  'GET /v1/linear/links',
  'GET /v1/linear/oauth/app-setup',
  'POST /v1/linear/oauth/installs',
  'GET /v1/linear/oauth/installs/:id',
  'POST /v1/linear/team-repos',
  'GET /v1/linear/team-repos',
  'DELETE /v1/linear/team-repos/:teamId',
];

describe('who may call each route', () => {
  let server: TestServer;
  let mallory: string;
  let bob: string;
  beforeAll(async () => {
    server = await startTestServer({ dialect: 'sqlite' });
    expect((await server.api('POST', '/v1/repos', { body: { name: 'demo', clone_url: 'file:///nowhere.git', agent: 'command', agent_settings: { command: 'echo secret-command' } } })).status).toBe(201);
    mallory = (await server.api('POST', '/v1/tokens', { body: { user: 'mallory' } })).body.token;
    bob = (await server.api('POST', '/v1/tokens', { body: { user: 'bob' } })).body.token;
  });
  afterAll(async () => {
    await server?.destroy();
  });

  it('refuses to register a route that does not declare who may call it', async () => {
    const app = Fastify();
    installAccessControl(app, {} as Store);
    const register = async () => {
      app.get('/undeclared', async () => 'x');
      await app.ready();
    };
    await expect(register()).rejects.toThrow(/declares no access/);
  });

  it('declares every administration route admin-only', () => {
    const admin = declaredRoutes(server.app).filter((r) => r.access === 'admin').map((r) => `${r.method} ${r.url}`);
    for (const route of ADMIN_ROUTES) expect(admin).toContain(route);
  });

  it('answers a non-admin 403 FORBIDDEN on every admin route', async () => {
    const admin = declaredRoutes(server.app).filter((r) => r.access === 'admin' && r.method !== 'HEAD');
    expect(admin.length).toBeGreaterThanOrEqual(ADMIN_ROUTES.length);
    for (const r of admin) {
      const path = r.url.replace(/:[A-Za-z]+/g, 'x').replace('*', 'demo');
      const res = await server.api(r.method, path, { token: mallory, body: r.method === 'POST' ? {} : undefined });
      expect({ route: `${r.method} ${r.url}`, status: res.status, code: res.body.error?.code }).toEqual({ route: `${r.method} ${r.url}`, status: 403, code: 'FORBIDDEN' });
    }
  });

  it("shows a non-admin repositories by name only: no clone URL, no agent settings", async () => {
    expect((await server.api('GET', '/v1/repos', { token: mallory })).body).toEqual({ repos: [{ name: 'demo', default_branch: 'main' }] });
    expect((await server.api('GET', '/v1/repos/demo', { token: mallory })).body).toEqual({ repo: { name: 'demo', default_branch: 'main' } });
    expect((await server.api('GET', '/v1/repos/demo')).body.repo).toMatchObject({ clone_url: 'file:///nowhere.git', agent_settings: { command: 'echo secret-command' } });
  });

  // Guards the move of the ownership check into the access hook (the behaviour is not new).
  it("shows a non-admin only its own tasks and tokens; another's task is not found", async () => {
    const submit = async (token: string) => (await server.api('POST', '/v1/tasks', { token, body: { repo: 'demo', task: 'x' } })).body.task.id as string;
    const own = await submit(mallory);
    const other = await submit(bob);
    expect((await server.api('GET', '/v1/tasks', { token: mallory })).body.tasks.map((t: { id: string }) => t.id)).toEqual([own]);
    expect((await server.api('GET', `/v1/tasks/${own}`, { token: mallory })).status).toBe(200);
    for (const [method, path, body] of [['GET', `/v1/tasks/${other}`], ['GET', `/v1/tasks/${other}/events`], ['POST', `/v1/tasks/${other}/input`, { text: 'hi' }], ['DELETE', `/v1/tasks/${other}`]] as const) {
      const res = await server.api(method, path, { token: mallory, body });
      expect({ path, method, status: res.status, code: res.body.error?.code }).toEqual({ path, method, status: 404, code: 'TASK_NOT_FOUND' });
    }
    expect((await server.api('GET', `/v1/tasks/${other}`)).status).toBe(200);
    expect((await server.api('GET', '/v1/tokens', { token: mallory })).body.tokens.map((t: { user: string }) => t.user)).toEqual(['mallory']);
  });
});
