import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { expect } from 'vitest';
import { CredentialResolver, LocalVault, type DatabaseSecrets } from '../../src/credentials/index.js';
import { OAuthTokenVault } from '../../src/linear/oauth/token-vault.js';
import type { Store } from '../../src/store/index.js';
import type { Logger } from '../../src/log.js';
import { tempDir } from '../support/databases.js';
import { startLinearEmulator, type EmOAuthApp, type LinearEmulator } from '../support/linear/emulator.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { sign } from './inbound.support.js';

export const APP_WEBHOOK_SECRET = 'whsec_oauth_app_tests_0123456789';

/** The database secrets a process with this data dir (its vault key file) and store sees. */
export function databaseSecretsOf(store: Store, dataDir: string, vaultKey?: string): DatabaseSecrets {
  return new CredentialResolver({ dataDir, vaultKey, secretRows: store.secrets }).databaseSecrets!;
}

/** The OAuth token pairs as such a process reads them. */
export function oauthTokenVaultOf(store: Store, dataDir: string, vaultKey?: string): OAuthTokenVault {
  return new OAuthTokenVault(databaseSecretsOf(store, dataDir, vaultKey));
}

export interface OAuthRig {
  server: TestServer;
  emu: LinearEmulator;
  app: EmOAuthApp;
  /** The environment the CLI needs to reach this server. */
  cliEnv: Record<string, string>;
  /** What an admin's browser does with the authorize URL: Linear redirects to the callback, which answers a page. */
  browse(authorizeUrl: string): Promise<{ status: number; text: string }>;
  /** An install through the API and the browser; returns the workspace id. */
  install(): Promise<string>;
  /** Sends a webhook signed with the app's secret. */
  sendWebhook(payload: Record<string, unknown>): Promise<{ status: number; deliveryId: string }>;
  vault: LocalVault;
  destroy(): Promise<void>;
}

/**
 * The real server with the Linear emulator as its GraphQL API and OAuth provider, and an OAuth app registered
 * in the emulator whose client id, secret (in the vault) and webhook secret the server is configured with.
 */
export async function startOAuthRig(opts: { dialect: 'sqlite' | 'postgres'; logger?: Logger; env?: Record<string, string> }): Promise<OAuthRig> {
  const emu = await startLinearEmulator();
  const app = emu.oauth.registerApp({ redirectUris: [], name: 'bgagent' });
  const dataDir = tempDir();
  const vault = new LocalVault({ dataDir });
  await vault.set('linear-oauth-client-secret', 'secret', app.clientSecret);
  await vault.set('linear-webhook-secret', 'webhook-secret', APP_WEBHOOK_SECRET);
  const server = await startTestServer({
    dialect: opts.dialect,
    dataDir,
    logger: opts.logger,
    env: {
      LINEAR_API_URL: emu.url,
      LINEAR_OAUTH_CLIENT_ID: app.clientId,
      LINEAR_OAUTH_CLIENT_SECRET: 'vault:linear-oauth-client-secret',
      LINEAR_OAUTH_AUTHORIZE_URL: emu.authorizeUrl,
      LINEAR_OAUTH_TOKEN_URL: emu.tokenUrl,
      LINEAR_WEBHOOK_SECRET: 'vault:linear-webhook-secret',
      ...opts.env,
    },
  });
  app.redirectUris.push(`${server.url}/v1/linear/oauth/callback`);

  const rig: OAuthRig = {
    server,
    emu,
    app,
    vault,
    cliEnv: { BGAGENT_URL: server.url, BGAGENT_DATA_DIR: dataDir, ...(server.databaseUrl ? { BGAGENT_DATABASE_URL: server.databaseUrl } : {}) },
    async browse(authorizeUrl) {
      const res = await fetch(authorizeUrl, { redirect: 'follow' });
      return { status: res.status, text: await res.text() };
    },
    async install() {
      const started = await server.api('POST', '/v1/linear/oauth/installs');
      expect(started.status, JSON.stringify(started.body)).toBe(201);
      const page = await rig.browse(started.body.authorize_url);
      expect(page.status, page.text).toBe(200);
      const view = await server.api('GET', `/v1/linear/oauth/installs/${started.body.install.id}`);
      expect(view.body.install.status).toBe('completed');
      return view.body.workspace.id as string;
    },
    async sendWebhook(payload) {
      const body = JSON.stringify(payload);
      const deliveryId = randomUUID();
      const res = await fetch(`${server.url}/v1/linear/webhook`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'linear-signature': sign(body, APP_WEBHOOK_SECRET), 'linear-delivery': deliveryId },
        body,
      });
      await res.text();
      return { status: res.status, deliveryId };
    },
    async destroy() {
      await server.destroy();
      await emu.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return rig;
}
