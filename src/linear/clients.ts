import type { CredentialResolver } from '../credentials/index.js';
import type { Logger } from '../log.js';
import type { LinearStore, LinearWorkspace } from '../store/linear.js';
import type { LinearOAuthStore } from '../store/linear-oauth.js';
import { LinearClient, type LinearCallOutcome } from './client.js';
import type { OAuthTokenEndpoint } from './oauth/token-endpoint.js';
import { OAuthTokenSource } from './oauth/token-source.js';
import type { OAuthTokenVault } from './oauth/token-vault.js';

export interface LinearClientsOptions {
  apiUrl: string;
  /** LINEAR_API_KEY: used for workspaces that name no key of their own. */
  defaultApiKeyRef: string;
  credentials: CredentialResolver;
  linear: LinearStore;
  /** Workspaces installed as an OAuth app (`bgagent linear install`). */
  oauth?: {
    store: LinearOAuthStore;
    vault: OAuthTokenVault;
    /** Undefined when the OAuth client is not configured (tokens cannot be refreshed). */
    endpoint: OAuthTokenEndpoint | undefined;
    refreshMarginMs?: number;
  };
  logger: Logger;
  onCall?(operation: string, outcome: LinearCallOutcome): void;
  onCircuitChange?(open: boolean): void;
}

/**
 * One LinearClient per credential reference (so one circuit breaker per token), created on first use, and
 * one per OAuth workspace. An API key is resolved at call time through the credential resolver and
 * invalidated on auth failure; an OAuth workspace's token comes from its OAuthTokenSource (refreshed as needed).
 */
export class LinearClients {
  private readonly byRef = new Map<string, LinearClient>();
  private readonly byOAuthWorkspace = new Map<string, { client: LinearClient; tokens: OAuthTokenSource }>();

  constructor(private readonly opts: LinearClientsOptions) {}

  /** The client for a workspace: authorized as the app for OAuth workspaces, else with its (or the default) API key. */
  async forWorkspace(workspaceId: string | undefined): Promise<LinearClient> {
    const workspace = workspaceId ? await this.opts.linear.getWorkspace(workspaceId) : undefined;
    if (workspace?.auth_kind === 'oauth') return this.forOAuthWorkspace(workspace);
    return this.forRef(workspace?.api_key_ref ?? this.opts.defaultApiKeyRef);
  }

  /** Drops what is cached for an OAuth workspace (after an install or a revocation). */
  forgetWorkspace(workspaceId: string): void {
    this.byOAuthWorkspace.delete(workspaceId);
  }

  forRef(ref: string): LinearClient {
    let client = this.byRef.get(ref);
    if (!client) {
      const { credentials } = this.opts;
      client = this.newClient(
        {
          getToken: async () => (await credentials.resolve(ref)).reveal(),
          invalidateToken: () => credentials.invalidate(ref),
        },
        () => this.byRef.get(ref),
      );
      this.byRef.set(ref, client);
    }
    return client;
  }

  private forOAuthWorkspace(workspace: LinearWorkspace): LinearClient {
    let entry = this.byOAuthWorkspace.get(workspace.id);
    if (!entry) {
      const oauth = this.opts.oauth;
      if (!oauth) throw new Error(`Linear workspace ${workspace.id} is installed as an OAuth app, but OAuth support is not wired`);
      const tokens: OAuthTokenSource = new OAuthTokenSource({
        workspaceId: workspace.id,
        store: oauth.store,
        vault: oauth.vault,
        endpoint: oauth.endpoint,
        refreshMarginMs: oauth.refreshMarginMs,
        logger: this.opts.logger.child({ component: 'linear-oauth', workspaceId: workspace.id }),
        onRefreshed: () => client.resetCircuit(),
      });
      const client: LinearClient = this.newClient(
        { tokenType: 'oauth', getToken: () => tokens.accessToken(), invalidateToken: () => tokens.invalidate() },
        () => this.byOAuthWorkspace.get(workspace.id)?.client,
      );
      entry = { client, tokens };
      this.byOAuthWorkspace.set(workspace.id, entry);
    }
    entry.tokens.observe(workspace);
    return entry.client;
  }

  private newClient(auth: { getToken: () => Promise<string>; invalidateToken: () => void; tokenType?: 'oauth' }, current: () => LinearClient | undefined): LinearClient {
    const { onCall, onCircuitChange } = this.opts;
    return new LinearClient({
      apiUrl: this.opts.apiUrl,
      ...auth,
      logger: this.opts.logger,
      onCall: (operation, outcome) => {
        onCall?.(operation, outcome);
        onCircuitChange?.(current()?.circuitOpen ?? false);
      },
    });
  }
}
