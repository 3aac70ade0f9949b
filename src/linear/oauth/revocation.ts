import type { Logger } from '../../log.js';
import type { Store } from '../../store/index.js';
import type { WebhookEnvelope } from '../webhook.js';
import type { OAuthTokenVault } from './token-vault.js';

export type OAuthAppEventOutcome = { outcome: 'revoked'; workspaceId: string } | { outcome: 'ignored'; reason: string };

/**
 * `OAuthApp` webhooks. `revoked`: an admin uninstalled bgagent from the workspace. The workspace is marked
 * revoked (every later call to it is refused before a request is sent, and its webhooks are refused) and
 * its tokens are deleted. Installing again (`bgagent linear install`) makes it active.
 */
export async function processOAuthAppEvent(deps: { store: Store; logger: Logger; oauthVault?: OAuthTokenVault }, envelope: WebhookEnvelope): Promise<OAuthAppEventOutcome> {
  const workspaceId = envelope.organizationId;
  if (envelope.action !== 'revoked') return { outcome: 'ignored', reason: `OAuthApp ${envelope.action} events are not handled` };
  if (!workspaceId) return { outcome: 'ignored', reason: 'OAuthApp revoked without an organization' };
  const workspace = await deps.store.linear.getWorkspace(workspaceId);
  if (!workspace || workspace.auth_kind !== 'oauth') return { outcome: 'ignored', reason: 'the workspace is not installed as an OAuth app' };
  await deps.store.linearOAuth.markWorkspace(workspaceId, 'revoked', 'the OAuth app was revoked in Linear');
  const removed = await deps.oauthVault?.remove(workspaceId);
  deps.logger.warn({ workspaceId, workspace: workspace.name, oauthClientId: envelope.oauthClientId, tokensDeleted: removed ?? false }, 'bgagent was uninstalled from a Linear workspace: its tokens are deleted and no further calls are made to it');
  return { outcome: 'revoked', workspaceId };
}
