import type { CredentialResolver } from '../credentials/index.js';
import type { Logger } from '../log.js';
import type { LinearStore } from '../store/linear.js';
import { LinearClient, type LinearCallOutcome } from './client.js';

export interface LinearClientsOptions {
  apiUrl: string;
  /** LINEAR_API_KEY: used for workspaces that name no key of their own. */
  defaultApiKeyRef: string;
  credentials: CredentialResolver;
  linear: LinearStore;
  logger: Logger;
  onCall?(operation: string, outcome: LinearCallOutcome): void;
  onCircuitChange?(open: boolean): void;
}

/**
 * One LinearClient per credential reference (so one circuit breaker per token), created on first use.
 * The token is resolved at call time through the credential resolver and invalidated on auth failure.
 */
export class LinearClients {
  private readonly byRef = new Map<string, LinearClient>();

  constructor(private readonly opts: LinearClientsOptions) {}

  async forWorkspace(workspaceId: string | undefined): Promise<LinearClient> {
    const workspace = workspaceId ? await this.opts.linear.getWorkspace(workspaceId) : undefined;
    return this.forRef(workspace?.api_key_ref ?? this.opts.defaultApiKeyRef);
  }

  forRef(ref: string): LinearClient {
    let client = this.byRef.get(ref);
    if (!client) {
      const { credentials, onCall, onCircuitChange } = this.opts;
      client = new LinearClient({
        apiUrl: this.opts.apiUrl,
        getToken: async () => (await credentials.resolve(ref)).reveal(),
        invalidateToken: () => credentials.invalidate(ref),
        logger: this.opts.logger,
        onCall: (operation, outcome) => {
          onCall?.(operation, outcome);
          onCircuitChange?.(this.byRef.get(ref)?.circuitOpen ?? false);
        },
      });
      this.byRef.set(ref, client);
    }
    return client;
  }
}
