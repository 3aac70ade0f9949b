import type { Logger } from '../../log.js';
import type { LinearWorkspace } from '../../store/linear.js';
import type { LinearOAuthStore, LockedWorkspace } from '../../store/linear-oauth.js';
import { LinearApiError, LinearWorkspaceUnavailableError } from '../errors.js';
import { OAuthTokenError, type OAuthTokenEndpoint, type OAuthTokens } from './token-endpoint.js';
import type { OAuthTokenVault } from './token-vault.js';

/** Refresh this long before the access token expires. */
export const DEFAULT_REFRESH_MARGIN_MS = 5 * 60 * 1000;
/** After a refresh failed for a passing reason, the still-valid token is used this long before refreshing is tried again. */
export const REFRESH_RETRY_MS = 30 * 1000;

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
 * stored pair (kept in the database, sealed) in that transaction first: a process that waited for the lock uses the pair the other one just stored instead of
 * spending the old refresh token (which Linear would answer with `invalid_grant`).
 */
export class OAuthTokenSource {
  private cached: OAuthTokens | undefined;
  /** An access token Linear refused; never handed out again. */
  private rejected: string | undefined;
  private unavailable: LinearWorkspaceUnavailableError | undefined;
  private refreshing: Promise<string> | undefined;
  private retryRefreshAt = 0;
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
    const now = this.now();
    const valid = tokens.accessToken !== this.rejected && tokens.expiresAt > now;
    if (valid && (tokens.expiresAt - this.margin > now || now < this.retryRefreshAt)) return tokens.accessToken;
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
      const current = await this.readStored(locked);
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
          const error = await this.requireReinstall(locked, 'Linear refused the refresh token (invalid_grant)');
          return { ok: false, error };
        }
        const message = err instanceof Error ? err.message : String(err);
        if (current.accessToken !== this.rejected && current.expiresAt > this.now()) {
          logger.warn({ workspaceId, reason: message }, `refreshing the Linear token failed; using the current one and trying again in ${REFRESH_RETRY_MS / 1000} s`);
          this.cached = current;
          this.retryRefreshAt = this.now() + REFRESH_RETRY_MS;
          return { ok: true, token: current.accessToken };
        }
        logger.warn({ workspaceId, reason: message }, 'refreshing the Linear token failed');
        return { ok: false, error: new LinearApiError(`refreshing the Linear token failed: ${message}`, { code: 'TOKEN_REFRESH_FAILED', cause: err }) };
      }
      this.cached = next;
      this.rejected = undefined;
      const unstored = await this.store(next, locked);
      if (unstored) {
        // Linear already rotated the pair and spent the old refresh token: no process can refresh again. The fresh
        // access token still serves this call; after it the workspace waits for a reinstall, and says so.
        await this.requireReinstall(locked, `the refreshed tokens could not be stored in the database (${unstored.message})`);
        return { ok: true, token: next.accessToken };
      }
      await locked.recordRefresh(next.expiresAt);
      logger.info({ workspaceId, expiresAt: new Date(next.expiresAt).toISOString() }, 'refreshed the Linear OAuth token');
      return { ok: true, token: next.accessToken };
    });
    if (!result.ok) throw result.error;
    this.deps.onRefreshed?.();
    return result.token;
  }

  /** Marks the workspace for reinstalling (every process stops calling it) and logs one ERROR. */
  private async requireReinstall(locked: LockedWorkspace, cause: string): Promise<LinearWorkspaceUnavailableError> {
    const reason = `${cause}: reinstall with \`bgagent linear install\``;
    const name = locked.workspace?.name ?? this.deps.workspaceId;
    await locked.setStatus('reinstall_required', reason);
    this.unavailable = new LinearWorkspaceUnavailableError(this.deps.workspaceId, 'REINSTALL_REQUIRED', `Linear workspace ${name} needs reinstalling: ${reason}`);
    this.deps.logger.error({ workspaceId: this.deps.workspaceId, workspace: name }, `Linear workspace needs reinstalling: ${reason}; its Linear calls fail until then`);
    return this.unavailable;
  }

  /** Writes the rotated pair inside the lock, trying once more if that fails; the error when both attempts failed. */
  private async store(tokens: OAuthTokens, locked: LockedWorkspace): Promise<Error | undefined> {
    let failure: Error | undefined;
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        await this.deps.vault.write(this.deps.workspaceId, tokens, locked.secrets);
        return undefined;
      } catch (err) {
        failure = err instanceof Error ? err : new Error(String(err));
        this.deps.logger.warn({ workspaceId: this.deps.workspaceId, reason: failure.message }, 'storing the refreshed Linear tokens failed');
      }
    }
    return failure;
  }

  /** The stored pair; under the lock, read in the lock's transaction. */
  private async readStored(locked?: LockedWorkspace): Promise<OAuthTokens> {
    let tokens: OAuthTokens | undefined;
    try {
      tokens = await this.deps.vault.read(this.deps.workspaceId, locked?.secrets);
    } catch (err) {
      const remedy = (err as { remedy?: string }).remedy;
      throw new LinearWorkspaceUnavailableError(this.deps.workspaceId, 'TOKEN_UNAVAILABLE', `the Linear OAuth tokens cannot be read from the database: ${(err as Error).message}${remedy ? ` (${remedy})` : ''}`);
    }
    if (!tokens) throw new LinearWorkspaceUnavailableError(this.deps.workspaceId, 'TOKEN_UNAVAILABLE', `no Linear OAuth tokens are stored for workspace ${this.deps.workspaceId}: run \`bgagent linear install\``);
    return tokens;
  }
}

function unavailableError(w: LinearWorkspace): LinearWorkspaceUnavailableError {
  if (w.status === 'revoked') return new LinearWorkspaceUnavailableError(w.id, 'WORKSPACE_REVOKED', `bgagent was uninstalled from Linear workspace ${w.name} (OAuth app revoked); no calls are made until it is installed again with \`bgagent linear install\``);
  return new LinearWorkspaceUnavailableError(w.id, 'REINSTALL_REQUIRED', `Linear workspace ${w.name} needs reinstalling${w.status_reason ? `: ${w.status_reason}` : ''}`);
}
