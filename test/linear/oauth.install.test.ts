import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, startCli } from '../support/cli.js';
import { postgresSkipReason } from '../support/databases.js';
import { captureLogs } from './capture-logs.js';
import { oauthTokenVaultOf, startOAuthRig, type OAuthRig } from './oauth.support.js';
import { dumpDatabase } from '../support/db-dump.js';

for (const dialect of ['sqlite', 'postgres'] as const) {
  describe.skipIf(dialect === 'postgres' && postgresSkipReason)(`bgagent linear install (OAuth app) on ${dialect}`, () => {
    let rig: OAuthRig;
    let logs: ReturnType<typeof captureLogs>;
    beforeAll(async () => {
      logs = captureLogs();
      rig = await startOAuthRig({ dialect, logger: logs.logger });
    });
    afterAll(async () => rig?.destroy());

    it('app-setup prints the callback and webhook URLs, the scopes, the webhook events and what to set next', async () => {
      const out = await runCli(['linear', 'app-setup'], rig.cliEnv);
      expect(out.code, out.stderr).toBe(0);
      expect(out.stdout).toContain(`Callback URL:  ${rig.server.url}/v1/linear/oauth/callback`);
      expect(out.stdout).toContain(`URL ${rig.server.url}/v1/linear/webhook`);
      expect(out.stdout).toContain('read,write,app:assignable,app:mentionable');
      for (const category of ['Agent session events', 'Issues', 'OAuth app revoked']) expect(out.stdout).toContain(category);
      expect(out.stdout).toMatch(/LINEAR_OAUTH_CLIENT_ID=.*\(set\)/);
      expect(out.stdout).toContain('BGAGENT_PUBLIC_URL is not set');
      expect(out.stdout).toContain('with several machines, give every one the same env: or aws-secrets-manager: reference');
      const json = await runCli(['linear', 'app-setup', '--json'], rig.cliEnv);
      expect(JSON.parse(json.stdout)).toMatchObject({
        callback_url: `${rig.server.url}/v1/linear/oauth/callback`,
        scopes: ['read', 'write', 'app:assignable', 'app:mentionable'],
        configured: { client_id: true, client_secret: true, webhook_secret: true },
      });
    });

    it('installs end to end: the CLI prints the URL, the browser approves in Linear, the callback stores the tokens and the app user', async () => {
      const cli = startCli(['linear', 'install'], rig.cliEnv);
      const [url] = await cli.waitForOutput(/http:\/\/127\.0\.0\.1:\d+\/oauth\/authorize\?\S+/);
      const authorize = new URL(url);
      expect(Object.fromEntries(authorize.searchParams)).toMatchObject({
        client_id: rig.app.clientId,
        redirect_uri: `${rig.server.url}/v1/linear/oauth/callback`,
        response_type: 'code',
        scope: 'read,write,app:assignable,app:mentionable',
        actor: 'app',
        code_challenge_method: 'S256',
      });
      expect(authorize.searchParams.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
      await cli.waitForOutput(/Waiting for the approval in Linear/);

      const page = await rig.browse(url);
      expect(page.status, page.text).toBe(200);
      expect(page.text).toContain('bgagent is installed in the Linear workspace &quot;Acme&quot;');

      const done = await cli.done;
      expect(done.code, done.stderr).toBe(0);
      const org = rig.emu.state.organization;
      const appUser = rig.app.appUser!;
      expect(appUser.app).toBe(true);
      expect(done.stdout).toContain(`Installed bgagent in Linear workspace "Acme" (${org.id}); its app user is ${appUser.id}.`);

      const workspace = await rig.server.store.linear.getWorkspace(org.id);
      expect(workspace).toMatchObject({ auth_kind: 'oauth', app_user_id: appUser.id, status: 'active', api_key_ref: `db:linear-oauth-${org.id}` });
      const stored = (await oauthTokenVaultOf(rig.server.store, rig.server.dataDir).read(org.id))!;
      expect(rig.emu.state.accessTokens.get(stored.accessToken)).toBe(appUser.id);
      expect(rig.emu.oauth.liveRefreshTokens()).toContain(stored.refreshToken);
      expect(rig.emu.oauth.calls.filter((c) => c.endpoint === 'token')).toEqual([expect.objectContaining({ grantType: 'authorization_code', status: 200 })]);

      // Every later Linear call for the workspace goes out as the app.
      rig.emu.calls.length = 0;
      const client = await rig.server.linearClients.forWorkspace(org.id);
      const { getViewer } = await import('../../src/linear/api.js');
      expect((await getViewer(client)).id).toBe(appUser.id);
      expect(rig.emu.calls.map((c) => c.viewerId)).toEqual([appUser.id]);

      // Tokens and the client secret never reach output or logs; the vault file and the database hold them encrypted.
      const everything = done.stdout + done.stderr + logs.text() + readFileSync(join(rig.server.dataDir, 'vault.enc.json'), 'utf8') + (await dumpDatabase(rig.server.store));
      for (const secret of [stored.accessToken, stored.refreshToken, rig.app.clientSecret]) expect(everything).not.toContain(secret);
      const doctor = await runCli(['doctor', '--json'], rig.cliEnv);
      expect(JSON.parse(doctor.stdout).credentials).toContainEqual(expect.objectContaining({ variable: 'Linear workspace Acme: OAuth tokens', status: 'ok' }));
      expect(doctor.stdout).not.toContain(stored.accessToken);
      const listed = await rig.server.api('GET', '/v1/linear/workspaces');
      expect(listed.body.workspaces).toEqual([expect.objectContaining({ id: org.id, auth_kind: 'oauth', app_user_id: appUser.id })]);
      expect(JSON.stringify(listed.body)).not.toContain(stored.accessToken);
    });

    it('refuses a callback whose state is unknown, reused or expired, and an install Linear denied, changing nothing', async () => {
      const org = rig.emu.state.organization;
      const callback = `${rig.server.url}/v1/linear/oauth/callback`;

      const unknown = await fetch(`${callback}?code=abc&state=not-a-state`);
      expect(unknown.status).toBe(400);
      expect(await unknown.text()).toContain('not one this bgagent server started');
      const missing = await fetch(callback);
      expect(missing.status).toBe(400);

      // A reused state: the browser replays the callback of a completed install.
      const started = await rig.server.api('POST', '/v1/linear/oauth/installs');
      const redirect = await fetch(started.body.authorize_url, { redirect: 'manual' });
      const back = redirect.headers.get('location')!;
      expect((await fetch(back)).status).toBe(200);
      const replay = await fetch(back);
      expect(replay.status).toBe(409);
      expect(await replay.text()).toContain('already used');

      const before = await rig.server.store.linear.getWorkspace(org.id);
      const tokensBefore = JSON.stringify(await oauthTokenVaultOf(rig.server.store, rig.server.dataDir).read(org.id));

      // Denied in Linear: the CLI learns why and exits non-zero.
      rig.emu.oauth.decision = 'deny';
      try {
        const cli = startCli(['linear', 'install', '--timeout', '30'], rig.cliEnv);
        const [url] = await cli.waitForOutput(/http:\/\/127\.0\.0\.1:\d+\/oauth\/authorize\?\S+/);
        const page = await rig.browse(url);
        expect(page.status).toBe(403);
        expect(page.text).toContain('cancelled in Linear (access denied)');
        const done = await cli.done;
        expect(done.code).not.toBe(0);
        expect(done.stderr).toContain('the installation failed: The installation was cancelled in Linear (access denied)');
      } finally {
        rig.emu.oauth.decision = 'approve';
      }

      // The token endpoint refuses the code (the client secret was rotated in Linear).
      const secret = rig.app.clientSecret;
      rig.app.clientSecret = 'rotated-elsewhere';
      try {
        const again = await rig.server.api('POST', '/v1/linear/oauth/installs');
        const page = await rig.browse(again.body.authorize_url);
        expect(page.status).toBe(400);
        expect(page.text).toContain('Linear did not issue tokens');
        expect(page.text).toContain('invalid_client');
        const view = await rig.server.api('GET', `/v1/linear/oauth/installs/${again.body.install.id}`);
        expect(view.body.install).toMatchObject({ status: 'failed' });
      } finally {
        rig.app.clientSecret = secret;
      }

      // An expired state.
      const late = await rig.server.api('POST', '/v1/linear/oauth/installs');
      await rig.server.store.db.kysely.updateTable('linear_oauth_installs').set({ expires_at: Date.now() - 1 }).where('id', '=', late.body.install.id).execute();
      const expired = await rig.browse(late.body.authorize_url);
      expect(expired.status).toBe(400);
      expect(expired.text).toContain('expired');
      expect((await rig.server.api('GET', `/v1/linear/oauth/installs/${late.body.install.id}`)).body.install.status).toBe('expired');

      expect(await rig.server.store.linear.getWorkspace(org.id)).toEqual(before);
      expect(JSON.stringify(await oauthTokenVaultOf(rig.server.store, rig.server.dataDir).read(org.id))).toBe(tokensBefore);
    });
  });
}

describe('bgagent linear install without the OAuth app configured', () => {
  it('says which variables to set', async () => {
    const { startTestServer } = await import('../support/server.js');
    const server = await startTestServer({ dialect: 'sqlite' });
    try {
      const out = await runCli(['linear', 'install'], { BGAGENT_URL: server.url, BGAGENT_DATA_DIR: server.dataDir });
      expect(out.code).not.toBe(0);
      expect(out.stderr).toContain('set LINEAR_OAUTH_CLIENT_ID and LINEAR_OAUTH_CLIENT_SECRET');
    } finally {
      await server.destroy();
    }
  });
});
