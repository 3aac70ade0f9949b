import type { ChildProcess } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore, type Store } from '../../src/store/index.js';
import { spawnServe } from '../support/cli.js';
import { createTestDatabase, postgresSkipReason, tempDir } from '../support/databases.js';
import { dumpDatabase } from '../support/db-dump.js';
import { createBareRemote } from '../support/git-repos.js';
import { startLinearEmulator, type EmOAuthApp, type LinearEmulator } from '../support/linear/emulator.js';
import { oauthTokenVaultOf } from './oauth.support.js';

/** A passphrase (stretched with scrypt): each process seals with its own salt, and every process opens the others'. */
const VAULT_KEY = 'correct horse battery staple, shared by every process';

interface Process {
  child: ChildProcess;
  url: string;
  dataDir: string;
  api(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }>;
}

/**
 * Two `bgagent serve` processes, each with its own data dir (so its own file vault and vault.key), on one
 * PostgreSQL database: the OAuth token pair the install stored through one is what the other acts with, and a
 * refresh by one is what the other uses, never spending the rotated refresh token again.
 */
describe.skipIf(postgresSkipReason)('Linear OAuth on a scale-out: two processes, two data dirs, one database', () => {
  let emu: LinearEmulator;
  let app: EmOAuthApp;
  let database: { url: string; drop(): Promise<void> };
  let a: Process;
  let b: Process;
  let store: Store;
  let workspaceId: string;
  const refreshes = () => emu.oauth.calls.filter((c) => c.endpoint === 'token' && c.grantType === 'refresh_token');

  async function serve(): Promise<Process> {
    const dataDir = tempDir();
    const { child, url } = await spawnServe({
      BGAGENT_DATA_DIR: dataDir,
      BGAGENT_DATABASE_URL: database.url,
      BGAGENT_VAULT_KEY: 'env:TEST_VAULT_KEY',
      TEST_VAULT_KEY: VAULT_KEY,
      BGAGENT_SANDBOX: 'none',
      LINEAR_API_URL: emu.url,
      LINEAR_OAUTH_CLIENT_ID: app.clientId,
      LINEAR_OAUTH_CLIENT_SECRET: 'env:TEST_LINEAR_CLIENT_SECRET',
      TEST_LINEAR_CLIENT_SECRET: app.clientSecret,
      LINEAR_OAUTH_AUTHORIZE_URL: emu.authorizeUrl,
      LINEAR_OAUTH_TOKEN_URL: emu.tokenUrl,
    });
    const token = readFileSync(join(dataDir, 'admin-token'), 'utf8').trim();
    return {
      child,
      url,
      dataDir,
      async api(method, path, body) {
        const res = await fetch(`${url}${path}`, {
          method,
          headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
          body: body === undefined ? undefined : JSON.stringify(body),
        });
        return { status: res.status, body: await res.json() };
      },
    };
  }

  async function stop(p: Process | undefined): Promise<void> {
    if (!p || p.child.exitCode !== null) return;
    const exited = new Promise((r) => p.child.once('exit', r));
    p.child.kill('SIGTERM');
    await exited;
    rmSync(p.dataDir, { recursive: true, force: true });
  }

  beforeAll(async () => {
    emu = await startLinearEmulator();
    app = emu.oauth.registerApp({ redirectUris: [], name: 'bgagent' });
    database = await createTestDatabase();
    a = await serve();
    b = await serve();
    app.redirectUris.push(`${a.url}/v1/linear/oauth/callback`);
    store = await openStore({ dataDir: tempDir(), databaseUrl: database.url, migrate: false, poolSize: 2 });
  }, 60_000);
  afterAll(async () => {
    await store?.close();
    await stop(a);
    await stop(b);
    await database?.drop();
    await emu?.close();
  });

  it('process B acts with the pair A stored; a refresh by A is used by B without spending the rotated refresh token', async () => {
    // Installed through A: A's callback exchanges the code and stores the pair.
    const started = await a.api('POST', '/v1/linear/oauth/installs');
    expect(started.status, JSON.stringify(started.body)).toBe(201);
    const page = await fetch(started.body.authorize_url, { redirect: 'follow' });
    expect(page.status, await page.text()).toBe(200);
    workspaceId = emu.state.organization.id;
    const appUserId = app.appUser!.id;

    // The pair is in the database, sealed: neither token is there in clear, and another key cannot open it.
    const issued = (await oauthTokenVaultOf(store, a.dataDir, VAULT_KEY).read(workspaceId))!;
    expect(emu.state.accessTokens.get(issued.accessToken)).toBe(appUserId);
    const dump = await dumpDatabase(store);
    expect(dump).not.toContain(issued.accessToken);
    expect(dump).not.toContain(issued.refreshToken);
    expect(dump).toContain(`db:linear-oauth-${workspaceId}`);
    await expect(oauthTokenVaultOf(store, tempDir(), 'another passphrase').read(workspaceId)).rejects.toThrow(/BGAGENT_VAULT_KEY/);

    // B, which never saw the install, acts in Linear as the app with that pair.
    expect((await b.api('POST', '/v1/repos', { name: 'demo', clone_url: createBareRemote().url, agent: 'command', agent_settings: { command: 'true' } })).status).toBe(201);
    const project = emu.state.addProject({ name: 'Website' });
    emu.calls.length = 0;
    const onboarded = await b.api('POST', '/v1/linear/projects', { project_id: project.id, repo: 'demo' });
    expect(onboarded.status, JSON.stringify(onboarded.body)).toBe(201);
    expect(emu.calls.map((c) => [c.status, c.viewerId])).toEqual([[200, appUserId]]);

    // Linear stops accepting the access token both processes hold. A refreshes (rotating the pair); B, refused
    // too, finds A's fresh pair under the row lock and uses it instead of refreshing with the spent token.
    emu.oauth.expireAccessTokens();
    const refreshesBefore = refreshes().length;
    emu.calls.length = 0;
    expect((await a.api('POST', '/v1/linear/projects', { project_id: project.id, repo: 'demo' })).status).toBe(200);
    expect(refreshes().slice(refreshesBefore).map((c) => c.status)).toEqual([200]);
    const rotated = (await oauthTokenVaultOf(store, b.dataDir, VAULT_KEY).read(workspaceId))!;
    expect(rotated.refreshToken).not.toBe(issued.refreshToken);

    expect((await b.api('POST', '/v1/linear/projects', { project_id: project.id, repo: 'demo' })).status).toBe(200);
    expect(refreshes().length).toBe(refreshesBefore + 1);
    expect(emu.oauth.calls.some((c) => c.error === 'invalid_grant')).toBe(false);
    // A: refused, then the fresh token; B: refused (its cached token), then A's fresh token.
    expect(emu.calls.map((c) => c.status)).toEqual([401, 200, 401, 200]);
    expect(emu.calls.at(-1)!.viewerId).toBe(appUserId);
    expect(emu.oauth.liveRefreshTokens()).toContain(rotated.refreshToken);
    const after = await dumpDatabase(store);
    expect(after).not.toContain(rotated.accessToken);
    expect(after).not.toContain(rotated.refreshToken);
  });
});
