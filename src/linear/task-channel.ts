import type { Logger } from '../log.js';
import type { Store } from '../store/index.js';
import type { TaskChannel } from '../orchestrator/task-channel.js';
import type { Task } from '../tasks/task.js';
import type { IssueFeedback } from './processor.js';
import type { LinearClients } from './clients.js';
import { LinearLifecycle } from './lifecycle.js';
import { linearMessages } from './messages.js';
import type { AgentEvent } from '../agent/harness.js';
import { ActivityStreams } from './sessions/activity-stream.js';
import { AgentSessionChannel } from './sessions/session-channel.js';

/**
 * What the orchestrator's decisions and a task's life look like on the Linear issue it came from: reactions
 * and comments for a labelled issue, activities in the agent session for a delegated or mentioned one.
 */
export class LinearTaskChannel implements TaskChannel {
  private readonly lifecycle: LinearLifecycle;
  private readonly streams: ActivityStreams;
  private readonly sessions: AgentSessionChannel;

  constructor(
    private readonly deps: { store: Store; feedback: IssueFeedback; clients: LinearClients; logger: Logger; defaultCap: number; activityIntervalMs?: number },
  ) {
    this.lifecycle = new LinearLifecycle({ store: deps.store, clients: deps.clients, logger: deps.logger });
    this.streams = new ActivityStreams({ store: deps.store, clients: deps.clients, logger: deps.logger, intervalMs: deps.activityIntervalMs });
    this.sessions = new AgentSessionChannel({ store: deps.store, streams: this.streams, logger: deps.logger, defaultCap: deps.defaultCap });
  }

  queued(task: Task): void {
    if (task.channelSource !== 'linear') return;
    if (AgentSessionChannel.handles(task)) return this.sessions.queued(task);
    void this.sayQueued(task).catch((err: unknown) => this.deps.logger.warn({ err, taskId: task.id }, 'could not tell Linear the task is queued'));
  }

  started(task: Task): void {
    if (AgentSessionChannel.handles(task)) return this.sessions.started(task);
    this.lifecycle.started(task);
  }

  agentEvent(task: Task, event: AgentEvent): void {
    if (AgentSessionChannel.handles(task)) this.sessions.agentEvent(task, event);
  }

  prCreated(task: Task, pr: { url: string; number: number }): void {
    if (AgentSessionChannel.handles(task)) return this.sessions.prCreated(task, pr);
    this.lifecycle.prCreated(task, pr);
  }

  awaitingInput(task: Task, question: string): void {
    if (AgentSessionChannel.handles(task)) this.sessions.awaitingInput(task, question);
  }

  finished(task: Task): void {
    if (AgentSessionChannel.handles(task)) return this.sessions.finished(task);
    this.lifecycle.finished(task);
  }

  /** Waits for the Linear updates already under way (before the store closes). */
  async drain(): Promise<void> {
    await Promise.all([this.lifecycle.drain(), this.sessions.drain()]);
  }

  private async sayQueued(task: Task): Promise<void> {
    const issueId = task.channelMetadata.issueId;
    if (typeof issueId !== 'string') return;
    // Said once per issue however often admission looks at the task.
    if (!(await this.deps.store.linear.noteOnce(issueId, `queued:${task.id}`))) return;
    const user = await this.deps.store.users.getById(task.userId);
    const cap = user?.maxConcurrent ?? this.deps.defaultCap;
    const workspaceId = typeof task.channelMetadata.workspaceId === 'string' ? task.channelMetadata.workspaceId : undefined;
    await this.deps.feedback.comment(workspaceId, issueId, linearMessages.queued(cap));
  }
}
