import type { Logger } from '../log.js';
import type { Store } from '../store/index.js';
import { isTerminal } from '../tasks/states.js';
import type { WorkspaceManager } from '../workspace/index.js';

/**
 * Removes what a crash left under workspaces/: everything of a task that has ended or that the store does not
 * know. A task not ended keeps its workspace whoever runs it (another process may share this data dir), and
 * an ended task never runs again, so the check cannot race a run.
 */
export async function sweepWorkspaces(store: Store, workspaces: WorkspaceManager, log: Logger): Promise<void> {
  const removed: string[] = [];
  for (const taskId of await workspaces.taskIdsOnDisk()) {
    try {
      const task = await store.tasks.get(taskId);
      if (task && !isTerminal(task.status)) continue;
      await workspaces.removeTask(taskId);
      removed.push(taskId);
    } catch (err) {
      log.warn({ err, taskId }, 'could not sweep the workspace');
    }
  }
  if (removed.length) log.info({ tasks: removed }, 'removed the workspaces of ended tasks');
}
