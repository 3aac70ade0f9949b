import type { Logger } from '../../log.js';
import type { LinearWorkspace } from '../../store/linear.js';
import type { LinearOAuthStore } from '../../store/linear-oauth.js';
import { LinearApiError, LinearWorkspaceUnavailableError } from '../errors.js';
import { OAuthTokenError, type OAuthTokenEndpoint, type OAuthTokens } from './token-endpoint.js';
import type { OAuthTokenVault } from './token-vault.js';

/** Refresh this long before the access token expires. */
export const DEFAULT_REFRESH_MARGIN_MS = 5 * 60 * 1000;

export interface OAuthTokenSourceDeps {
  workspaceId: string;
  store: LinearOAuthStore;
  vault: OAuthTokenVault;
  /** Undefined when LINEAR_OAUTH_CLIENT_ID / LINEAR_OAUTH_CLIENT_SECRET are not set: stored tokens are used until they expire. */
  endpoint: OAuthTokenEndpoint | undefined;
  logger: Logger;
  refreshMarginMs?: number;
  now?: () => number;
  /** After tokens were refreshed (the client closes its auth circuit). */
  onRefreshed?(): void;
}

type RefreshResult = { ok: true; token: string } | { ok: false; error: LinearApiError };

/**
 * The access token of one OAuth workspace. Refreshes it before it expires and after Linear refused it.
 * Linear rotates refresh tokens, so every refresh runs under the workspace's database lock and re-reads the
 * stored pair first: a process that waited for the lock uses the pair the other one just stored instead of
 * spending the old refresh token (which Linear would answer with `invalid_grant`).
 */
export class OAuthTokenSource {
  private cached: OAuthTokens | undefined;
  /** An access token Linear refused; never handed out again. */
  private rejected: string | undefined;
  private unavailable: LinearWorkspaceUnavailableError | undefined;
  private refreshing: Promise<string> | undefined;
  private readonly now: () => number;
  private readonly margin: number;

  constructor(private readonly deps: OAuthTokenSourceDeps) {
    this.now = deps.now ?? Date.now;
    this.margin = deps.refreshMarginMs ?? DEFAULT_REFRESH_MARGIN_MS;
  }

  /** Follows the workspace row: a revocation (also one another process recorded) stops calls; a reinstall resumes them. */
  observe(workspace: LinearWorkspace): void {
    if (workspace.status === 'active') {
      if (this.unavailable) {
        this.unavailable = undefined;
        this.cached = undefined;
        this.rejected = undefined;
      }
      return;
    }
    this.cached = undefined;
    this.unavailable ??= unavailableError(workspace);
  }

  async accessToken(): Promise<string> {
    if (this.unavailable) throw this.unavailable;
    const tokens = this.cached ?? (this.cached = await this.readStored());
    if (tokens.accessToken !== this.rejected && tokens.expiresAt - this.margin > this.now()) return tokens.accessToken;
    this.refreshing ??= this.refresh(tokens).finally(() => (this.refreshing = undefined));
    return this.refreshing;
  }

  /** Linear refused the current access token: the next call refreshes (unless another process already did). */
  invalidate(): void {
    if (this.cached) this.rejected = this.cached.accessToken;
    this.cached = undefined;
  }

  private async refresh(stale: OAuthTokens): Promise<string> {
    const { endpoint, workspaceId, logger } = this.deps;
    const result = await this.deps.store.withTokenLock(workspaceId, async (locked): Promise<RefreshResult> => {
      if (!locked.workspace) return { ok: false, error: new LinearWorkspaceUnavailableError(workspaceId, 'TOKEN_UNAVAILABLE', `Linear workspace ${workspaceId} is not registered`) };
      if (locked.workspace.status !== 'active') return { ok: false, error: (this.unavailable = unavailableError(locked.workspace)) };
      const current = await this.readStored();
      if (current.accessToken !== stale.accessToken && current.accessToken !== this.rejected && current.expiresAt - this.margin > this.now()) {
        this.cached = current; // another process refreshed while we waited for the lock
        return { ok: true, token: current.accessToken };
      }
      if (!endpoint) return { ok: false, error: new LinearWorkspaceUnavailableError(workspaceId, 'TOKEN_UNAVAILABLE', `the Linear token of workspace ${workspaceId} needs refreshing, but LINEAR_OAUTH_CLIENT_ID / LINEAR_OAUTH_CLIENT_SECRET are not set`) };
      let next: OAuthTokens;
      try {
        next = await endpoint.refresh(current.refreshToken);
      } catch (err) {
        if (err instanceof OAuthTokenError && err.invalidGrant) {
          const reason = 'Linear refused the refresh token (invalid_grant): reinstall with `bgagent linear install`';
          await locked.setStatus('reinstall_required', reason);
          this.unavailable = new LinearWorkspaceUnavailableError(workspaceId, 'REINSTALL_REQUIRED', `Linear workspace ${locked.workspace.name} needs reinstalling: ${reason}`);
          logger.error({ workspaceId, workspace: locked.workspace.name }, `Linear workspace needs reinstalling: ${reason}; its Linear calls fail until then`);
          return { ok: false, error: this.unavailable };
        }
        const message = err instanceof Error ? err.message : String(err);
        if (current.accessToken !== this.rejected && current.expiresAt > this.now()) {
          logger.warn({ workspaceId, reason: message }, 'refreshing the Linear token failed; using the current one until it expires');
          this.cached = current;
          return { ok: true, token: current.accessToken };
        }
        logger.warn({ workspaceId, reason: message }, 'refreshing the Linear token failed');
        return { ok: false, error: new LinearApiError(`refreshing the Linear token failed: ${message}`, { code: 'TOKEN_REFRESH_FAILED', cause: err }) };
      }
      try {
        await this.deps.vault.write(workspaceId, next);
      } catch (err) {
        // Linear already rotated the pair: the new refresh token is lost, and the old one is spent.
        logger.error({ workspaceId, err: (err as Error).message }, 'the refreshed Linear tokens could not be stored in the vault; the workspace may need reinstalling');
        return { ok: false, error: new LinearWorkspaceUnavailableError(workspaceId, 'TOKEN_UNAVAILABLE', `the refreshed Linear tokens could not be stored: ${(err as Error).message}`) };
      }
      await locked.recordRefresh(next.expiresAt);
      this.cached = next;
      this.rejected = undefined;
      logger.info({ workspaceId, expiresAt: new Date(next.expiresAt).toISOString() }, 'refreshed the Linear OAuth token');
      return { ok: true, token: next.accessToken };
    });
    if (!result.ok) throw result.error;
    this.deps.onRefreshed?.();
    return result.token;
  }

  private async readStored(): Promise<OAuthTokens> {
    let tokens: OAuthTokens | undefined;
    try {
      tokens = await this.deps.vault.read(this.deps.workspaceId);
    } catch (err) {
      throw new LinearWorkspaceUnavailableError(this.deps.workspaceId, 'TOKEN_UNAVAILABLE', `the Linear OAuth tokens cannot be read from the vault: ${(err as Error).message}`);
    }
    if (!tokens) throw new LinearWorkspaceUnavailableError(this.deps.workspaceId, 'TOKEN_UNAVAILABLE', `no Linear OAuth tokens are stored for workspace ${this.deps.workspaceId}: run \`bgagent linear install\``);
    return tokens;
  }
}

function unavailableError(w: LinearWorkspace): LinearWorkspaceUnavailableError {
  if (w.status === 'revoked') return new LinearWorkspaceUnavailableError(w.id, 'WORKSPACE_REVOKED', `bgagent was uninstalled from Linear workspace ${w.name} (OAuth app revoked); no calls are made until it is installed again with \`bgagent linear install\``);
  return new LinearWorkspaceUnavailableError(w.id, 'REINSTALL_REQUIRED', `Linear workspace ${w.name} needs reinstalling${w.status_reason ? `: ${w.status_reason}` : ''}`);
}
