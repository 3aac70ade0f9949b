import type { Logger } from '../log.js';
import type { Store } from '../store/index.js';
import type { TaskChannel } from '../orchestrator/orchestrator.js';
import type { Task } from '../tasks/task.js';
import type { IssueFeedback } from './processor.js';
import type { LinearClients } from './clients.js';
import { LinearLifecycle } from './lifecycle.js';
import { linearMessages } from './messages.js';

/** What the orchestrator's decisions and a task's life look like on the Linear issue it came from. */
export class LinearTaskChannel implements TaskChannel {
  private readonly lifecycle: LinearLifecycle;

  constructor(
    private readonly deps: { store: Store; feedback: IssueFeedback; clients: LinearClients; logger: Logger; defaultCap: number },
  ) {
    this.lifecycle = new LinearLifecycle({ store: deps.store, clients: deps.clients, logger: deps.logger });
  }

  queued(task: Task): void {
    if (task.channelSource !== 'linear') return;
    void this.sayQueued(task).catch((err: unknown) => this.deps.logger.warn({ err, taskId: task.id }, 'could not tell Linear the task is queued'));
  }

  started(task: Task): void {
    this.lifecycle.started(task);
  }

  prCreated(task: Task, pr: { url: string; number: number }): void {
    this.lifecycle.prCreated(task, pr);
  }

  finished(task: Task): void {
    this.lifecycle.finished(task);
  }

  /** Waits for the Linear updates already under way (before the store closes). */
  drain(): Promise<void> {
    return this.lifecycle.drain();
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
