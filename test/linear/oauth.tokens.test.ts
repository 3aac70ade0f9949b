import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCredentialResolver } from '../../src/credentials/index.js';
import { loadConfig } from '../../src/config/config.js';
import { silentLogger, type Logger } from '../../src/log.js';
import { getViewer } from '../../src/linear/api.js';
import { LinearClients } from '../../src/linear/clients.js';
import { LinearWorkspaceUnavailableError } from '../../src/linear/errors.js';
import { OAuthTokenEndpoint } from '../../src/linear/oauth/token-endpoint.js';
import { OAuthTokenVault } from '../../src/linear/oauth/token-vault.js';
import { openStore, type Store } from '../../src/store/index.js';
import { postgresSkipReason, tempDir } from '../support/databases.js';
import { waitFor } from '../support/server.js';
import { captureLogs, LEVEL } from './capture-logs.js';
import { databaseSecretsOf, oauthTokenVaultOf, startOAuthRig, type OAuthRig } from './oauth.support.js';

for (const dialect of ['sqlite', 'postgres'] as const) {
  describe.skipIf(dialect === 'postgres' && postgresSkipReason)(`Linear OAuth tokens on ${dialect}`, () => {
    let rig: OAuthRig;
    let logs: ReturnType<typeof captureLogs>;
    let workspaceId: string;
    const extraStores: Store[] = [];
    beforeAll(async () => {
      logs = captureLogs();
      rig = await startOAuthRig({ dialect, logger: logs.logger });
      workspaceId = await rig.install();
    });
    afterAll(async () => {
      for (const s of extraStores) await s.close();
      await rig?.destroy();
    });

    const tokenVault = () => oauthTokenVaultOf(rig.server.store, rig.server.dataDir);
    const stored = async () => (await tokenVault().read(workspaceId))!;
    const refreshes = () => rig.emu.oauth.calls.filter((c) => c.endpoint === 'token' && c.grantType === 'refresh_token');
    const viewerVia = async (clients: LinearClients) => (await getViewer(await clients.forWorkspace(workspaceId))).id;

    /**
     * Another bgagent process: its own token sources and credential cache, the same data dir, and on PostgreSQL
     * its own connection pool. SQLite allows one bgagent process (the serve lock), and better-sqlite3 blocks the
     * event loop while it waits for a lock, so there the "other process" shares the server's connection.
     */
    async function anotherProcess(opts: { vault?: OAuthTokenVault; logger?: Logger } = {}): Promise<LinearClients> {
      const config = loadConfig({ BGAGENT_DATA_DIR: rig.server.dataDir, ...(rig.server.databaseUrl ? { BGAGENT_DATABASE_URL: rig.server.databaseUrl } : {}) });
      let store: Store = rig.server.store;
      if (config.databaseUrl) {
        store = await openStore({ dataDir: config.dataDir, databaseUrl: config.databaseUrl, migrate: false, poolSize: 3 });
        extraStores.push(store);
      }
      const credentials = createCredentialResolver(config, undefined, store.secrets);
      return new LinearClients({
        apiUrl: rig.emu.url,
        defaultApiKeyRef: config.linear.apiKeyRef,
        credentials,
        linear: store.linear,
        oauth: {
          store: store.linearOAuth,
          vault: opts.vault ?? oauthTokenVaultOf(store, rig.server.dataDir),
          endpoint: new OAuthTokenEndpoint({ tokenUrl: rig.emu.tokenUrl, client: { clientId: rig.app.clientId, clientSecret: async () => rig.app.clientSecret } }),
        },
        logger: opts.logger ?? silentLogger,
      });
    }

    /** The stored access token expires now, in bgagent's eyes and in Linear's. */
    async function expireStoredToken(): Promise<void> {
      await tokenVault().write(workspaceId, { ...(await stored()), expiresAt: Date.now() - 1000 });
      rig.emu.oauth.expireAccessTokens();
    }

    it('refreshes before the access token expires, and stores the rotated pair', async () => {
      const appUserId = rig.app.appUser!.id;
      const before = await stored();
      // An access token with 301 s left is inside the 5-minute margin a second later.
      rig.emu.oauth.accessTokenTtlSeconds = 301;
      await rig.install();
      rig.emu.oauth.accessTokenTtlSeconds = 24 * 60 * 60;
      const issued = await stored();
      expect(issued.refreshToken).not.toBe(before.refreshToken);
      await new Promise((r) => setTimeout(r, 1100));
      rig.emu.calls.length = 0;
      const refreshesBefore = refreshes().length;

      expect(await viewerVia(rig.server.linearClients)).toBe(appUserId);
      expect(refreshes().length).toBe(refreshesBefore + 1);
      expect(refreshes().at(-1)).toMatchObject({ status: 200 });
      // No request went out with the old token: Linear never had to refuse one.
      expect(rig.emu.calls.map((c) => c.status)).toEqual([200]);
      const now = await stored();
      expect(now.accessToken).not.toBe(issued.accessToken);
      expect(rig.emu.oauth.liveRefreshTokens()).toContain(now.refreshToken);
      expect(rig.emu.oauth.liveRefreshTokens()).not.toContain(issued.refreshToken); // spent by the refresh
      const row = await rig.server.store.linear.getWorkspace(workspaceId);
      expect(row!.token_expires_at).toBe(now.expiresAt);
    });

    it('refreshes after Linear refuses the token (HTTP 401, AUTHENTICATION_ERROR) and retries the call', async () => {
      const appUserId = rig.app.appUser!.id;
      const before = await stored();
      rig.emu.oauth.expireAccessTokens(); // Linear stops accepting it early
      rig.emu.calls.length = 0;
      const refreshesBefore = refreshes().length;
      expect(await viewerVia(rig.server.linearClients)).toBe(appUserId);
      expect(rig.emu.calls.map((c) => c.status)).toEqual([401, 200]);
      expect(refreshes().length).toBe(refreshesBefore + 1);
      expect((await stored()).accessToken).not.toBe(before.accessToken);

      rig.emu.calls.length = 0;
      rig.emu.failNext({ kind: 'auth' });
      expect(await viewerVia(rig.server.linearClients)).toBe(appUserId);
      expect(rig.emu.calls.map((c) => c.failure ?? c.status)).toEqual(['auth', 200]);
      expect(refreshes().length).toBe(refreshesBefore + 2);
    });

    it('two processes refreshing at once: one refresh, the other uses its fresh token, nothing spends a rotated refresh token', async () => {
      const appUserId = rig.app.appUser!.id;
      for (let round = 0; round < 2; round++) {
        const first = await anotherProcess();
        const second = await anotherProcess();
        await expireStoredToken();
        const refreshesBefore = refreshes().length;
        rig.emu.calls.length = 0;
        const spent = (await stored()).refreshToken;
        const ids = await Promise.all([viewerVia(first), viewerVia(second), viewerVia(first), viewerVia(second)]);
        expect(ids).toEqual(Array(4).fill(appUserId));
        // Exactly one refresh, no invalid_grant, and no call was refused.
        expect(refreshes().slice(refreshesBefore).map((c) => c.status)).toEqual([200]);
        expect(rig.emu.calls.map((c) => c.status)).toEqual([200, 200, 200, 200]);
        // The stored refresh token is the newest one, which Linear still accepts.
        const latest = await stored();
        expect(latest.refreshToken).not.toBe(spent);
        expect(rig.emu.oauth.liveRefreshTokens()).toContain(latest.refreshToken);
        expect(rig.emu.oauth.liveRefreshTokens()).not.toContain(spent);
        // The server, whose cached token Linear now refuses, takes the stored fresh one instead of refreshing again.
        rig.emu.calls.length = 0;
        expect(await viewerVia(rig.server.linearClients)).toBe(appUserId);
        expect(rig.emu.calls.map((c) => c.status)).toEqual([401, 200]);
        expect(refreshes().length).toBe(refreshesBefore + 1);
      }
      expect(rig.emu.oauth.calls.some((c) => c.error === 'invalid_grant')).toBe(false);
    });

    it('a process whose BGAGENT_VAULT_KEY differs gets an error naming it, and sends nothing to Linear', async () => {
      const store = rig.server.databaseUrl ? await openStore({ dataDir: rig.server.dataDir, databaseUrl: rig.server.databaseUrl, migrate: false, poolSize: 2 }) : rig.server.store;
      if (store !== rig.server.store) extraStores.push(store);
      const clients = await anotherProcess({ vault: oauthTokenVaultOf(store, tempDir(), 'not the key the pair was sealed with') });
      rig.emu.calls.length = 0;
      const oauthSent = rig.emu.oauth.calls.length;
      const failure = await viewerVia(clients).catch((e: unknown) => e);
      expect(failure).toMatchObject({ code: 'TOKEN_UNAVAILABLE', message: expect.stringMatching(/cannot be decrypted .*BGAGENT_VAULT_KEY/) });
      expect(rig.emu.calls).toHaveLength(0);
      expect(rig.emu.oauth.calls.length).toBe(oauthSent);
    });

    it('a refresh the token endpoint fails (HTTP 503) keeps the still-valid token and does not try again at every call', async () => {
      const clients = await anotherProcess();
      // Two minutes left: inside the refresh margin, still accepted by Linear.
      await tokenVault().write(workspaceId, { ...(await stored()), expiresAt: Date.now() + 2 * 60 * 1000 });
      const before = await stored();
      rig.emu.oauth.failNextToken(503);
      const refreshesBefore = refreshes().length;
      rig.emu.calls.length = 0;
      for (let i = 0; i < 4; i++) expect(await viewerVia(clients)).toBe(rig.app.appUser!.id);
      expect(refreshes().slice(refreshesBefore).map((c) => c.status)).toEqual([503]);
      expect(rig.emu.calls.map((c) => c.status)).toEqual([200, 200, 200, 200]);
      expect(await stored()).toEqual(before);
    });

    it('refreshed tokens the vault cannot store: the call still succeeds, the write is tried twice, then the workspace asks for a reinstall', async () => {
      let writes = 0;
      class BrokenVault extends OAuthTokenVault {
        override async write(): Promise<void> {
          writes++;
          throw new Error('disk full');
        }
      }
      const errorsBefore = logs.entries().filter((e) => e.level === LEVEL.error).length;
      const clients = await anotherProcess({ vault: new BrokenVault(databaseSecretsOf(rig.server.store, rig.server.dataDir)), logger: logs.logger });
      await expireStoredToken();
      rig.emu.calls.length = 0;
      expect(await viewerVia(clients)).toBe(rig.app.appUser!.id);
      expect(writes).toBe(2);
      expect(rig.emu.calls.map((c) => c.status)).toEqual([200]);
      const row = await rig.server.store.linear.getWorkspace(workspaceId);
      expect(row).toMatchObject({ status: 'reinstall_required' });
      expect(row!.status_reason).toContain('could not be stored in the database (disk full)');
      const errors = logs.entries().filter((e) => e.level === LEVEL.error).slice(errorsBefore);
      expect(errors.map((e) => e.msg)).toEqual([expect.stringContaining('needs reinstalling')]);

      const sent = rig.emu.calls.length;
      const oauthSent = rig.emu.oauth.calls.length;
      await expect(viewerVia(clients)).rejects.toMatchObject({ code: 'REINSTALL_REQUIRED' });
      await expect(viewerVia(await anotherProcess())).rejects.toMatchObject({ code: 'REINSTALL_REQUIRED' });
      expect(rig.emu.calls.length).toBe(sent);
      expect(rig.emu.oauth.calls.length).toBe(oauthSent);

      await rig.install();
      expect(await viewerVia(clients)).toBe(rig.app.appUser!.id);
    });

    it('a refused refresh token (invalid_grant) marks the workspace for reinstalling: one ERROR, then calls fail fast; a reinstall resumes them', async () => {
      const clients = rig.server.linearClients;
      expect(await viewerVia(clients)).toBe(rig.app.appUser!.id);
      rig.emu.oauth.revokeApp(rig.app.clientId); // tokens gone on Linear's side
      const errorsBefore = logs.entries().filter((e) => e.level === LEVEL.error).length;
      rig.emu.calls.length = 0;
      const callsBefore = rig.emu.oauth.calls.length;

      const failure = await viewerVia(clients).catch((e: unknown) => e);
      expect(failure).toBeInstanceOf(LinearWorkspaceUnavailableError);
      expect(failure).toMatchObject({ code: 'REINSTALL_REQUIRED' });
      expect((failure as Error).message).toContain('bgagent linear install');
      expect(rig.emu.oauth.calls.slice(callsBefore).map((c) => c.error)).toEqual(['invalid_grant']);
      expect(await rig.server.store.linear.getWorkspace(workspaceId)).toMatchObject({ status: 'reinstall_required' });

      const sent = rig.emu.calls.length;
      const oauthSent = rig.emu.oauth.calls.length;
      for (let i = 0; i < 3; i++) await expect(viewerVia(clients)).rejects.toMatchObject({ code: 'REINSTALL_REQUIRED' });
      expect(rig.emu.calls.length).toBe(sent);
      expect(rig.emu.oauth.calls.length).toBe(oauthSent);
      const errors = logs.entries().filter((e) => e.level === LEVEL.error).slice(errorsBefore);
      expect(errors).toHaveLength(1);
      expect(errors[0]!.msg).toContain('needs reinstalling');

      await rig.install();
      expect(await viewerVia(clients)).toBe(rig.app.appUser!.id);
    });

    it('an OAuthApp revoked webhook marks the workspace revoked, deletes its tokens, and no further call is sent', async () => {
      const clients = rig.server.linearClients;
      expect(await viewerVia(clients)).toBe(rig.app.appUser!.id);
      rig.emu.oauth.revokeApp(rig.app.clientId);
      const sent = await rig.sendWebhook({
        type: 'OAuthApp',
        action: 'revoked',
        createdAt: new Date().toISOString(),
        oauthClientId: rig.app.clientId,
        organizationId: workspaceId,
        webhookId: 'wh-app',
        webhookTimestamp: Date.now(),
      });
      expect(sent.status).toBe(200);
      const delivery = await waitFor(async () => {
        const d = await rig.server.store.linear.getDelivery(sent.deliveryId);
        return d?.status === 'done' ? d : undefined;
      }, 15_000, 'the revocation to be processed');
      expect(JSON.parse(delivery.result!)).toEqual({ outcome: 'revoked', workspaceId });
      expect(await rig.server.store.linear.getWorkspace(workspaceId)).toMatchObject({ status: 'revoked' });
      expect(await tokenVault().read(workspaceId)).toBeUndefined();

      rig.emu.calls.length = 0;
      const oauthSent = rig.emu.oauth.calls.length;
      await expect(viewerVia(clients)).rejects.toMatchObject({ code: 'WORKSPACE_REVOKED' });
      // Another process, which never saw the webhook, refuses too.
      await expect(viewerVia(await anotherProcess())).rejects.toMatchObject({ code: 'WORKSPACE_REVOKED' });
      expect(rig.emu.calls).toHaveLength(0);
      expect(rig.emu.oauth.calls.length).toBe(oauthSent);
      // The workspace's webhooks are refused from now on.
      const later = await rig.sendWebhook({ type: 'Issue', action: 'update', organizationId: workspaceId, webhookTimestamp: Date.now(), data: { id: 'x' } });
      expect(later.status).toBe(401);
    });
  });
}
