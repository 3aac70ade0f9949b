import { createHash, randomBytes } from 'node:crypto';
import { ulid } from 'ulid';
import type { LinearOAuthConfig } from '../../config/config.js';
import type { Logger } from '../../log.js';
import type { Store } from '../../store/index.js';
import type { LinearOAuthInstall } from '../../store/linear-oauth.js';
import { getViewer, type LinearViewer } from '../api.js';
import { LinearClient } from '../client.js';
import type { LinearClients } from '../clients.js';
import { OAuthTokenError, type OAuthTokenEndpoint, type OAuthTokens } from './token-endpoint.js';
import { oauthTokenRef, type OAuthTokenVault } from './token-vault.js';

/** What bgagent asks for: acting as its own app user, which people can assign issues to and @mention. */
export const LINEAR_APP_SCOPES = ['read', 'write', 'app:assignable', 'app:mentionable'] as const;
/** How long an authorize URL stays usable. */
export const INSTALL_TTL_MS = 10 * 60 * 1000;

export interface OAuthInstallDeps {
  store: Store;
  oauth: LinearOAuthConfig & { clientId: string };
  apiUrl: string;
  endpoint: OAuthTokenEndpoint;
  vault: OAuthTokenVault;
  clients: LinearClients;
  logger: Logger;
}

const base64url = (b: Buffer) => b.toString('base64url');
export const hashState = (state: string) => createHash('sha256').update(state).digest('hex');

/** Creates a one-use state and PKCE verifier (stored) and returns Linear's authorize URL for an app install. */
export async function startInstall(deps: Pick<OAuthInstallDeps, 'store' | 'oauth'>, redirectUri: string): Promise<{ install: LinearOAuthInstall; authorizeUrl: string }> {
  const state = base64url(randomBytes(32));
  const codeVerifier = base64url(randomBytes(48));
  const codeChallenge = base64url(createHash('sha256').update(codeVerifier).digest());
  const install = await deps.store.linearOAuth.createInstall({ id: `inst_${ulid()}`, stateHash: hashState(state), codeVerifier, redirectUri, ttlMs: INSTALL_TTL_MS });
  const url = new URL(deps.oauth.authorizeUrl);
  url.search = new URLSearchParams({
    client_id: deps.oauth.clientId,
    redirect_uri: redirectUri,
    response_type: 'code',
    scope: LINEAR_APP_SCOPES.join(','),
    state,
    actor: 'app',
    prompt: 'consent',
    code_challenge: codeChallenge,
    code_challenge_method: 'S256',
  }).toString();
  return { install, authorizeUrl: url.toString() };
}

export interface CallbackQuery {
  code?: string;
  state?: string;
  error?: string;
  error_description?: string;
}

export type CallbackOutcome =
  | { ok: true; workspace: { id: string; name: string; urlKey: string }; appUser: { id: string; name: string } }
  | { ok: false; status: number; message: string };

/**
 * The callback: the state proves the request belongs to an install this server started (once, before it
 * expires). Exchanges the code with the verifier, reads the app user and workspace with the new token, stores
 * the tokens in the database (sealed) and records the workspace. A failure leaves workspaces and tokens untouched.
 */
export async function completeInstall(deps: OAuthInstallDeps, q: CallbackQuery): Promise<CallbackOutcome> {
  const { store, logger } = deps;
  if (!q.state) return { ok: false, status: 400, message: 'The request has no state: open the URL that `bgagent linear install` printed.' };
  const claim = await store.linearOAuth.claimInstall(hashState(q.state));
  if (!claim.ok) {
    const message = {
      unknown: 'This install link is not one this bgagent server started. Run `bgagent linear install` and open the URL it prints.',
      expired: 'This install link expired. Run `bgagent linear install` again.',
      used: 'This install link was already used. Run `bgagent linear install` again to install once more.',
    }[claim.reason];
    logger.warn({ reason: claim.reason }, 'Linear OAuth callback refused');
    return { ok: false, status: claim.reason === 'used' ? 409 : 400, message };
  }
  const install = claim.install;
  const fail = async (status: number, message: string): Promise<CallbackOutcome> => {
    await store.linearOAuth.finishInstall(install.id, { error: message });
    logger.warn({ installId: install.id, reason: message }, 'Linear app install failed');
    return { ok: false, status, message };
  };
  if (q.error) {
    const denied = q.error === 'access_denied';
    return fail(denied ? 403 : 400, denied ? 'The installation was cancelled in Linear (access denied). Nothing was changed.' : `Linear reported an error: ${q.error}${q.error_description ? ` (${q.error_description})` : ''}. Nothing was changed.`);
  }
  if (!q.code) return fail(400, 'Linear sent no authorization code. Run `bgagent linear install` again.');

  let tokens: OAuthTokens;
  try {
    tokens = await deps.endpoint.exchangeCode(q.code, install.redirect_uri, install.code_verifier);
  } catch (err) {
    const e = err instanceof OAuthTokenError ? err : new OAuthTokenError('unexpected', String(err));
    return fail(e.transient ? 502 : 400, `Linear did not issue tokens: ${e.message}. Nothing was changed; run \`bgagent linear install\` again.`);
  }
  let viewer: LinearViewer;
  try {
    viewer = await getViewer(new LinearClient({ apiUrl: deps.apiUrl, tokenType: 'oauth', getToken: async () => tokens.accessToken, maxRetries: 1, logger }));
  } catch (err) {
    return fail(502, `Linear issued tokens, but reading the app user with them failed: ${(err as Error).message}. Nothing was changed.`);
  }
  const workspace = viewer.organization;
  await deps.vault.write(workspace.id, tokens);
  await store.linearOAuth.recordOAuthWorkspace({
    id: workspace.id,
    urlKey: workspace.urlKey,
    name: workspace.name,
    tokenRef: oauthTokenRef(workspace.id),
    appUserId: viewer.id,
    scopes: tokens.scope,
    tokenExpiresAt: tokens.expiresAt,
  });
  deps.clients.forgetWorkspace(workspace.id);
  await store.linearOAuth.finishInstall(install.id, { workspaceId: workspace.id });
  logger.info({ workspaceId: workspace.id, workspace: workspace.name, appUserId: viewer.id }, 'bgagent installed as a Linear app');
  return { ok: true, workspace, appUser: { id: viewer.id, name: viewer.name } };
}
