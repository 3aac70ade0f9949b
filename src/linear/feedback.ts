import type { Logger } from '../log.js';
import { addReaction, postComment } from './api.js';
import type { LinearClients } from './clients.js';
import type { IssueFeedback } from './processor.js';

/** Comments and reactions on issues, best-effort: a failure is logged and never reaches the caller. */
export class LinearIssueFeedback implements IssueFeedback {
  constructor(
    private readonly clients: LinearClients,
    private readonly logger: Logger,
  ) {}

  async reject(workspaceId: string | undefined, issueId: string, message: string): Promise<void> {
    const client = await this.clientOrNull(workspaceId);
    if (!client) return;
    const [comment, reaction] = await Promise.allSettled([postComment(client, issueId, message), addReaction(client, issueId, 'x')]);
    if (comment.status === 'rejected') this.logger.warn({ err: comment.reason, issueId }, 'could not post the rejection comment on Linear');
    if (reaction.status === 'rejected') this.logger.warn({ err: reaction.reason, issueId }, 'could not add the ❌ reaction on Linear');
  }

  async comment(workspaceId: string | undefined, issueId: string, body: string): Promise<void> {
    const client = await this.clientOrNull(workspaceId);
    if (!client) return;
    await postComment(client, issueId, body).catch((err: unknown) => this.logger.warn({ err, issueId }, 'could not post a comment on Linear'));
  }

  private async clientOrNull(workspaceId: string | undefined) {
    return this.clients.forWorkspace(workspaceId).catch((err: unknown) => {
      this.logger.warn({ err, workspaceId }, 'no Linear client for this workspace');
      return undefined;
    });
  }
}
