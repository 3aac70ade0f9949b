import type { Logger } from '../log.js';
import type { Task } from '../tasks/task.js';
import { getIssueContext } from './api.js';
import type { LinearClients } from './clients.js';

/**
 * What the agent's `get_task_context` tool answers: the task text, and for a task from Linear the
 * issue's current title, description and latest comments (fetched by the platform, not the agent).
 */
export async function describeTaskContext(task: Task, clients: LinearClients, logger: Logger): Promise<string> {
  const parts = [`Task ${task.id} on ${task.repo}:`, task.taskDescription];
  const meta = task.channelMetadata;
  if (task.channelSource === 'linear' && typeof meta.issueId === 'string') {
    try {
      const client = await clients.forWorkspace(typeof meta.workspaceId === 'string' ? meta.workspaceId : undefined);
      const issue = await getIssueContext(client, meta.issueId);
      parts.push('', `Linear issue ${issue.identifier}: ${issue.title}`, issue.url, '', issue.description ?? '(no description)');
      const comments = issue.comments?.nodes ?? [];
      if (comments.length) {
        parts.push('', 'Comments:');
        for (const c of comments) parts.push(`- ${c.user?.name ?? 'someone'}: ${c.body}`);
      }
    } catch (err) {
      logger.warn({ err, taskId: task.id }, 'could not fetch the Linear issue for the agent');
      parts.push('', `(The Linear issue ${String(meta.issueIdentifier ?? meta.issueId)} could not be fetched just now.)`);
    }
  } else if (task.issueRef) {
    parts.push('', `Issue: ${task.issueRef}`);
  }
  return parts.join('\n');
}
