import type { Store } from '../store/index.js';
import { ApiError, TransitionConflictError } from '../tasks/errors.js';
import { isTerminal, type TaskStatus } from '../tasks/states.js';
import type { Task, User } from '../tasks/task.js';
import type { TaskSignals } from '../tasks/signals.js';
import type { TaskChannel } from './task-channel.js';

const CANCELLABLE: TaskStatus[] = ['SUBMITTED', 'QUEUED', 'HYDRATING', 'RUNNING', 'AWAITING_INPUT'];

/**
 * Cancels a task that has not reached finalization. The row moves to CANCELLED at once; the worker
 * running the agent sees it (signal here, heartbeat elsewhere) and stops the whole process tree.
 */
export async function cancelTask(store: Store, signals: TaskSignals, taskId: string, by: User, channel?: TaskChannel): Promise<Task> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const task = await store.tasks.get(taskId);
    if (!task || (task.userId !== by.id && !by.isAdmin)) throw new ApiError('TASK_NOT_FOUND', `task ${taskId} not found`);
    if (isTerminal(task.status)) throw new ApiError('TASK_ALREADY_TERMINAL', `task ${taskId} is already ${task.status}`);
    if (task.status === 'FINALIZING') {
      throw new ApiError('TASK_NOT_CANCELLABLE', `task ${taskId} is finalizing (pushing its branch) and can no longer be cancelled`);
    }
    try {
      const cancelled = await store.tasks.transition(taskId, [task.status], 'CANCELLED', {
        patch: { cancelled_by: by.name, finished_at: Date.now(), lease_owner: null, lease_expires_at: null },
        event: { type: 'task_cancelled', message: `Cancelled by ${by.name}`, data: { by: by.name } },
      });
      signals.cancelled(taskId);
      signals.changed(taskId);
      signals.wake(task.userId);
      // A running task is reported by its runner when the agent has stopped; a waiting one has no runner.
      if (task.status === 'SUBMITTED' || task.status === 'QUEUED' || task.status === 'AWAITING_INPUT') channel?.finished?.(cancelled);
      return cancelled;
    } catch (err) {
      if (!(err instanceof TransitionConflictError)) throw err;
      if (!CANCELLABLE.includes(task.status)) throw err;
    }
  }
  throw new ApiError('CONFLICT', `task ${taskId} kept changing; try again`);
}
