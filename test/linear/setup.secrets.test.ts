import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { CredentialResolver, LocalVault } from '../../src/credentials/index.js';
import { runCli } from '../support/cli.js';
import { createTestDatabase, postgresSkipReason, tempDir } from '../support/databases.js';
import { dumpDatabase } from '../support/db-dump.js';
import { startLinearEmulator, type LinearEmulator } from '../support/linear/emulator.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { sign } from './inbound.support.js';
import { oauthTokenVaultOf } from './oauth.support.js';

/**
 * Secrets given to `POST /v1/linear/setup` (and `bgagent linear setup`) are never literal in the database or in
 * a response: a value is kept encrypted in the database and named by a db: reference; a literal left from before
 * is reported by doctor and moved at the next start.
 */
for (const dialect of ['sqlite', 'postgres'] as const) {
  describe.skipIf(dialect === 'postgres' && postgresSkipReason)(`Linear setup secrets on ${dialect}`, () => {
    const cleanups: (() => Promise<void>)[] = [];
    afterEach(async () => {
      for (const c of cleanups.splice(0).reverse()) await c();
    });

    /** A server on its own data dir and database, which a restart reuses. */
    async function rig() {
      const emu = await startLinearEmulator();
      const dataDir = tempDir();
      const database = dialect === 'postgres' ? await createTestDatabase() : undefined;
      const env = { LINEAR_API_URL: emu.url };
      let server: TestServer | undefined = await startTestServer({ dialect, dataDir, databaseUrl: database?.url, env });
      cleanups.push(async () => {
        await server?.close(1000);
        await database?.drop();
        await emu.close();
        rmSync(dataDir, { recursive: true, force: true });
      });
      const apiKey = `lin_api_canary_${randomBytes(12).toString('hex')}`;
      emu.state.addApiKey(apiKey, emu.seeded!.viewer.id);
      return {
        emu,
        dataDir,
        apiKey,
        cliEnv: { BGAGENT_DATA_DIR: dataDir, BGAGENT_SANDBOX: 'none', ...(database ? { BGAGENT_DATABASE_URL: database.url } : {}) },
        get server() {
          return server!;
        },
        async restart() {
          await server!.close(1000);
          server = undefined;
          server = await startTestServer({ dialect, dataDir, databaseUrl: database?.url, env });
        },
        resolve: async (ref: string) => (await new CredentialResolver({ dataDir, secretRows: server!.store.secrets }).resolve(ref)).reveal(),
        async webhookAccepted(secret: string): Promise<boolean> {
          const body = JSON.stringify({ type: 'Issue', action: 'update', organizationId: emu.seeded!.organization.id, webhookTimestamp: Date.now(), data: { id: `issue-${randomBytes(4).toString('hex')}` } });
          const res = await fetch(`${server!.url}/v1/linear/webhook`, { method: 'POST', headers: { 'content-type': 'application/json', 'linear-signature': sign(body, secret), 'linear-delivery': randomBytes(8).toString('hex') }, body });
          await res.text();
          return res.status === 200;
        },
      };
    }

    for (const form of ['value fields (api_key, signing_secret)', 'literals where references belong (api_key_ref, signing_secret_ref)'] as const) {
      it(`keeps secrets given as ${form} encrypted in the database; responses show db: references`, async () => {
        const r = await rig();
        const org = r.emu.seeded!.organization.id;
        const signingSecret = `whsec_canary_${randomBytes(12).toString('hex')}`;
        const body = form.startsWith('value') ? { api_key: r.apiKey, signing_secret: signingSecret } : { api_key_ref: r.apiKey, signing_secret_ref: signingSecret };
        const setup = await r.server.api('POST', '/v1/linear/setup', { body });
        expect(setup.status, JSON.stringify(setup.body)).toBe(200);
        expect(setup.body.workspace).toMatchObject({ api_key_ref: `db:linear-${org}-api-key`, signing_secret_ref: `db:linear-${org}-signing-secret` });
        const listed = await r.server.api('GET', '/v1/linear/workspaces');
        const everything = JSON.stringify(setup.body) + JSON.stringify(listed.body) + (await dumpDatabase(r.server.store));
        for (const secret of [r.apiKey, signingSecret]) expect(everything).not.toContain(secret);
        // They resolve, and they work: Linear calls use the key, the webhook verifies with the secret.
        expect(await r.resolve(`db:linear-${org}-api-key`)).toBe(r.apiKey);
        expect(await r.resolve(`db:linear-${org}-signing-secret`)).toBe(signingSecret);
        expect(await r.webhookAccepted(signingSecret)).toBe(true);
        expect(await r.webhookAccepted('not-the-secret')).toBe(false);
        const tested = await runCli(['credentials', 'test', `db:linear-${org}-api-key`], r.cliEnv);
        expect(tested).toMatchObject({ code: 0, stdout: `ok  db:linear-${org}-api-key\n` });
      });
    }

    it('bgagent linear setup with values in the --…-ref flags: stored encrypted, with a warning that arguments are visible', async () => {
      const r = await rig();
      const org = r.emu.seeded!.organization.id;
      const signingSecret = `whsec_canary_${randomBytes(12).toString('hex')}`;
      const setup = await runCli(['linear', 'setup', '--api-key-ref', r.apiKey, '--signing-secret-ref', signingSecret, '--json'], { ...r.cliEnv, BGAGENT_URL: r.server.url });
      expect(setup.code, setup.stderr).toBe(0);
      expect(JSON.parse(setup.stdout).workspace).toMatchObject({ api_key_ref: `db:linear-${org}-api-key`, signing_secret_ref: `db:linear-${org}-signing-secret` });
      expect(setup.stderr).toContain('warning: --api-key-ref held a value, not a credential reference');
      expect(setup.stderr).toContain('use --api-key-stdin next time');
      expect(setup.stderr).toContain('warning: --signing-secret-ref held a value');
      const everything = setup.stdout + setup.stderr + (await dumpDatabase(r.server.store));
      for (const secret of [r.apiKey, signingSecret]) expect(everything).not.toContain(secret);
      expect(await r.webhookAccepted(signingSecret)).toBe(true);
    });

    it('shows a reference as scheme and name, and refuses a malformed one without changing anything', async () => {
      const r = await rig();
      await new LocalVault({ dataDir: r.dataDir }).set('my-linear-key', 'api-key', r.apiKey);
      const setup = await r.server.api('POST', '/v1/linear/setup', { body: { api_key_ref: 'vault:my-linear-key' } });
      expect(setup.status, JSON.stringify(setup.body)).toBe(200);
      expect(setup.body.workspace).toMatchObject({ api_key_ref: 'vault:my-linear-key', signing_secret_ref: null });
      const before = await dumpDatabase(r.server.store);
      const bad = await r.server.api('POST', '/v1/linear/setup', { body: { api_key_ref: 'env:not a name' } });
      expect(bad.status).toBe(400);
      expect(bad.body.error).toMatchObject({ code: 'VALIDATION_ERROR', message: expect.stringContaining('api_key_ref') });
      expect(await dumpDatabase(r.server.store)).toBe(before);
    });

    it('doctor warns about literal secrets left in the database; the next start moves them (and a file-vault OAuth pair) into the database', async () => {
      const r = await rig();
      const org = r.emu.seeded!.organization.id;
      const signingSecret = `whsec_canary_${randomBytes(12).toString('hex')}`;
      expect((await r.server.api('POST', '/v1/linear/setup', { body: { api_key: r.apiKey } })).status).toBe(200);
      // What a database from before looks like: the values themselves in the workspace row, and an OAuth
      // workspace whose token pair sits in this machine's file vault.
      await sql`update linear_workspaces set api_key_ref = ${r.apiKey}, signing_secret_ref = ${signingSecret} where id = ${org}`.execute(r.server.store.db.kysely);
      await r.server.store.secrets.remove(`linear-${org}-api-key`);
      const pair = { accessToken: `lin_oauth_canary_${randomBytes(12).toString('hex')}`, refreshToken: `lin_refresh_canary_${randomBytes(12).toString('hex')}`, expiresAt: Date.now() + 3_600_000, scope: 'read,write' };
      await r.server.store.linearOAuth.recordOAuthWorkspace({ id: 'legacy-ws', urlKey: 'legacy', name: 'Legacy', tokenRef: 'vault:linear-oauth-legacy-ws', appUserId: 'app-user', scopes: pair.scope, tokenExpiresAt: pair.expiresAt });
      const fileVault = new LocalVault({ dataDir: r.dataDir });
      await fileVault.set('linear-oauth-legacy-ws', 'oauth-token', JSON.stringify(pair));

      const listed = await r.server.api('GET', '/v1/linear/workspaces');
      expect(listed.body.workspaces).toContainEqual(expect.objectContaining({ id: org, api_key_ref: '(literal value)', signing_secret_ref: '(literal value)' }));
      expect(JSON.stringify(listed.body)).not.toContain(r.apiKey);
      const doctor = await runCli(['doctor', '--json'], r.cliEnv);
      expect(doctor.stdout + doctor.stderr).not.toContain(r.apiKey);
      expect(doctor.stdout).not.toContain(signingSecret);
      const rows = JSON.parse(doctor.stdout).credentials as { variable: string; ref: string; status: string; message: string; remedy?: string }[];
      const name = r.emu.seeded!.organization.name;
      for (const variable of [`Linear workspace ${name}: API key`, `Linear workspace ${name}: signing secret`]) {
        expect(rows).toContainEqual({ variable, ref: '(literal value)', status: 'warn', message: expect.stringContaining('literal secret stored in the database'), remedy: expect.stringContaining('restart `bgagent serve`') });
      }

      await r.restart();
      const row = await r.server.store.linear.getWorkspace(org);
      expect(row).toMatchObject({ api_key_ref: `db:linear-${org}-moved-api-key`, signing_secret_ref: `db:linear-${org}-moved-signing-secret` });
      expect(await r.resolve(row!.api_key_ref)).toBe(r.apiKey);
      expect(await r.webhookAccepted(signingSecret)).toBe(true);
      expect(await r.server.store.linear.getWorkspace('legacy-ws')).toMatchObject({ api_key_ref: 'db:linear-oauth-legacy-ws' });
      expect(await oauthTokenVaultOf(r.server.store, r.dataDir).read('legacy-ws')).toEqual(pair);
      expect(await fileVault.get('linear-oauth-legacy-ws')).toBeUndefined();
      const dump = await dumpDatabase(r.server.store);
      for (const secret of [r.apiKey, signingSecret, pair.accessToken, pair.refreshToken]) expect(dump).not.toContain(secret);

      const again = JSON.parse((await runCli(['doctor', '--json'], r.cliEnv)).stdout).credentials as { variable: string; status: string }[];
      for (const variable of [`Linear workspace ${name}: API key`, `Linear workspace ${name}: signing secret`, 'Linear workspace Legacy: OAuth tokens']) {
        expect(again).toContainEqual(expect.objectContaining({ variable, status: 'ok' }));
      }
    });
  });
}
