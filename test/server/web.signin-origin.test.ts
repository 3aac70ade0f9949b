import { afterEach, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { silentLogger } from '../../src/log.js';
import { TaskSignals } from '../../src/tasks/signals.js';
import { buildApp } from '../../src/server/app.js';
import { storeTargets, type TestStore } from '../support/databases.js';

/**
 * Sign-in compares the form's Origin with this site: BGAGENT_PUBLIC_URL's origin when set (a proxy that
 * rewrites Host no longer makes every sign-in a 403), otherwise the request's host as Fastify sees it
 * (X-Forwarded-Host/Proto only from a trusted proxy). SQLite only: no SQL here differs.
 */
describe('sign-in origin check', () => {
  let store: TestStore | undefined;
  let app: FastifyInstance | undefined;
  afterEach(async () => {
    await app?.close();
    await store?.destroy();
    app = undefined;
    store = undefined;
  });

  async function start(opts: { publicUrl?: string; trustProxy?: boolean }) {
    store = await storeTargets[0]!.open();
    app = await buildApp({ store, signals: new TaskSignals(), logger: silentLogger, ...opts });
    const admin = await store.users.ensure('admin', { isAdmin: true });
    const { token } = await store.users.createToken(admin.id, 'web');
    // The proxy's connection comes from 127.0.0.1 (inject's default remote address).
    return async (headers: Record<string, string>) => {
      const res = await app!.inject({ method: 'POST', url: '/signin', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, payload: new URLSearchParams({ token, next: '/' }).toString() });
      return { status: res.statusCode, cookie: res.headers['set-cookie'] };
    };
  }

  it("takes BGAGENT_PUBLIC_URL's origin when set, whatever Host the proxy sends", async () => {
    const signIn = await start({ publicUrl: 'https://agents.example.com' });
    const rewritten = { host: '127.0.0.1:8080' };
    expect((await signIn({ ...rewritten, origin: 'https://agents.example.com' })).status).toBe(303);
    for (const origin of ['http://127.0.0.1:8080', 'http://agents.example.com', 'https://agents.example.com:8443', 'https://evil.example']) {
      const refused = await signIn({ ...rewritten, origin });
      expect(refused.status, origin).toBe(403);
      expect(refused.cookie, origin).toBeUndefined();
    }
  });

  it('honours X-Forwarded-Host with BGAGENT_TRUST_PROXY, and never without it', async () => {
    const trusted = await start({ trustProxy: true });
    const forwarded = { host: '127.0.0.1:8080', 'x-forwarded-host': 'agents.example.com', 'x-forwarded-proto': 'https' };
    expect((await trusted({ ...forwarded, origin: 'https://agents.example.com' })).status).toBe(303);
    expect((await trusted({ ...forwarded, origin: 'https://evil.example' })).status).toBe(403);
    await app!.close();
    await store!.destroy();

    // Untrusted: a forged X-Forwarded-Host does not make a foreign Origin pass; the Host header still counts.
    const direct = await start({});
    const forged = await direct({ host: '127.0.0.1:8080', 'x-forwarded-host': 'evil.example', origin: 'http://evil.example' });
    expect(forged.status).toBe(403);
    expect(forged.cookie).toBeUndefined();
    expect((await direct({ host: '127.0.0.1:8080', 'x-forwarded-host': 'evil.example', origin: 'http://127.0.0.1:8080' })).status).toBe(303);
  });
});
