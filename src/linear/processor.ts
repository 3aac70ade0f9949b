import type { Logger } from '../log.js';
import type { Store } from '../store/index.js';
import type { LinearDelivery } from '../store/linear.js';
import { ApiError } from '../tasks/errors.js';
import { createTask } from '../tasks/create-task.js';
import type { Task } from '../tasks/task.js';
import { linearMessages } from './messages.js';
import { processOAuthAppEvent } from './oauth/revocation.js';
import type { SessionOutcome } from './sessions/session-events.js';
import type { OAuthTokenVault } from './oauth/token-vault.js';
import { DEFAULT_TRIGGER_LABEL, decideIssueTrigger, type IssueData } from './trigger.js';
import { isPassingFailure } from './unavailable.js';
import { webhookEnvelopeSchema, type WebhookEnvelope } from './webhook.js';

/** How the processor talks back on an issue; every call is best-effort (it logs and never throws). */
export interface IssueFeedback {
  /** A comment and a ❌ reaction, sent together. */
  reject(workspaceId: string | undefined, issueId: string, message: string): Promise<void>;
  comment(workspaceId: string | undefined, issueId: string, body: string): Promise<void>;
}

export interface ProcessorDeps {
  store: Store;
  feedback: IssueFeedback;
  logger: Logger;
  onTaskCreated(task: Task): void;
  /** Where OAuth workspaces' tokens are kept (deleted when the app is revoked). */
  oauthVault?: OAuthTokenVault;
  /** Handles `AgentSessionEvent` deliveries (delegation, @mentions, replies and stop). */
  agentSessions?: (payload: unknown, deliveryId: string) => Promise<SessionOutcome>;
  /** Tells the person in the session that their `AgentSessionEvent` could not be handled (its delivery failed for good). */
  agentSessionLost?: (payload: unknown, deliveryId: string, unavailable: boolean) => Promise<void>;
}

export type DeliveryOutcome =
  | { outcome: 'ignored'; reason: string }
  | { outcome: 'help' }
  | { outcome: 'rejected'; reason: string }
  | { outcome: 'created' | 'replayed'; taskId: string }
  | { outcome: 'revoked'; workspaceId: string }
  | SessionOutcome;

/** Turns one stored delivery into at most one task, or a reason the person sees on the issue. */
export async function processDelivery(deps: ProcessorDeps, delivery: LinearDelivery): Promise<DeliveryOutcome> {
  const envelope = webhookEnvelopeSchema.parse(JSON.parse(delivery.payload));
  if (envelope.type === 'OAuthApp') return processOAuthAppEvent(deps, envelope);
  if (envelope.type === 'AgentSessionEvent' && deps.agentSessions) return deps.agentSessions(JSON.parse(delivery.payload), delivery.id);
  if (envelope.type !== 'Issue') {
    deps.logger.info({ type: envelope.type, action: envelope.action, deliveryId: delivery.id }, 'Linear event acknowledged; nothing to do for this type');
    return { outcome: 'ignored', reason: `${envelope.type} events are not handled` };
  }
  const projectId = typeof envelope.data?.projectId === 'string' ? envelope.data.projectId : undefined;
  const project = projectId ? await deps.store.linear.getProject(projectId) : undefined;
  const label = project?.trigger_label ?? DEFAULT_TRIGGER_LABEL;
  const decision = decideIssueTrigger(envelope, label);
  if (decision.kind === 'ignore') return { outcome: 'ignored', reason: decision.reason };
  const { issue } = decision;
  const workspaceId = envelope.organizationId;

  if (decision.kind === 'help') {
    if (await deps.store.linear.noteOnce(issue.id, 'help')) await deps.feedback.comment(workspaceId, issue.id, linearMessages.help(label));
    return { outcome: 'help' };
  }

  const reject = async (reason: string, message: string): Promise<DeliveryOutcome> => {
    deps.logger.info({ issueId: issue.id, reason, deliveryId: delivery.id }, 'Linear trigger rejected');
    await deps.feedback.reject(workspaceId, issue.id, message);
    return { outcome: 'rejected', reason };
  };

  if (!workspaceId || !envelope.actor?.id) return reject('missing organization or actor', linearMessages.missingOrgOrActor());
  if (!projectId) return reject('issue not in a project', linearMessages.notInProject(label));
  if (!project) return reject('project not onboarded', linearMessages.projectNotOnboarded(projectId, undefined));
  if (project.status !== 'active') return reject('project removed', linearMessages.projectRemoved(projectId, project.name));
  const link = await deps.store.linear.getUserLink(workspaceId, envelope.actor.id);
  const user = link && (await deps.store.users.getById(link.user_id));
  if (!user) return reject('user not linked', linearMessages.userNotLinked(envelope.actor.name));

  try {
    const { task, replay } = await createTask(
      { store: deps.store, onCreated: deps.onTaskCreated },
      user,
      {
        repo: project.repo,
        task: taskText(issue),
        issue: issue.identifier ?? issue.id,
      },
      { idempotencyKey: `linear:${issue.id}:${envelope.webhookTimestamp}`, origin: { source: 'linear', metadata: channelMetadata(envelope, issue, delivery.id) } },
    );
    return { outcome: replay ? 'replayed' : 'created', taskId: task.id };
  } catch (err) {
    if (err instanceof ApiError && err.status === 400) return reject('validation', linearMessages.validationRefused(err.message));
    // 422: the repository is not usable; 429: the person has too many tasks waiting (the message says what to do).
    if (err instanceof ApiError && (err.status === 422 || err.status === 429)) return reject(err.code, linearMessages.validationRefused(err.message));
    if (isPassingFailure(err)) return reject('unavailable', linearMessages.unavailable(label));
    deps.logger.error({ err, deliveryId: delivery.id }, 'creating a task from Linear failed');
    return reject('refused', linearMessages.refused(delivery.id));
  }
}

function taskText(issue: IssueData): string {
  const title = issue.title?.trim() || issue.identifier || 'Linear issue';
  const body = issue.description?.trim();
  return body ? `${title}\n\n${body}` : title;
}

function channelMetadata(e: WebhookEnvelope, issue: IssueData, deliveryId: string): Record<string, unknown> {
  return {
    workspaceId: e.organizationId,
    issueId: issue.id,
    issueIdentifier: issue.identifier ?? null,
    issueUrl: issue.url ?? e.url ?? null,
    teamId: issue.teamId ?? null,
    projectId: issue.projectId ?? null,
    actorId: e.actor?.id,
    actorName: e.actor?.name ?? null,
    deliveryId,
  };
}

/** Where a delivery that failed for good can still be reported: an agent session gets an `error` activity (best-effort). */
export async function reportLostDelivery(deps: ProcessorDeps, delivery: LinearDelivery, unavailable: boolean): Promise<void> {
  if (delivery.type !== 'AgentSessionEvent' || !deps.agentSessionLost) return;
  try {
    await deps.agentSessionLost(JSON.parse(delivery.payload), delivery.id, unavailable);
  } catch (err) {
    deps.logger.warn({ err, deliveryId: delivery.id }, 'could not tell the agent session that its event was lost');
  }
}
