import type { Logger } from '../log.js';
import type { Store } from '../store/index.js';
import type { TaskChannel } from '../orchestrator/orchestrator.js';
import type { Task } from '../tasks/task.js';
import type { IssueFeedback } from './processor.js';
import { linearMessages } from './messages.js';

/** What the orchestrator's decisions look like on the Linear issue a task came from. */
export class LinearTaskChannel implements TaskChannel {
  constructor(
    private readonly deps: { store: Store; feedback: IssueFeedback; logger: Logger; defaultCap: number },
  ) {}

  queued(task: Task): void {
    if (task.channelSource !== 'linear') return;
    void this.sayQueued(task).catch((err: unknown) => this.deps.logger.warn({ err, taskId: task.id }, 'could not tell Linear the task is queued'));
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
