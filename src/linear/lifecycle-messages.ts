import { FAILURE_REMEDIES } from '../orchestrator/failure.js';
import type { Task } from '../tasks/task.js';

/** Remedies for terminal codes the orchestrator's table does not cover. */
const MORE_REMEDIES: Record<string, string> = {
  TIMED_OUT: 'Narrow the task or ask an admin to raise the time limit (BGAGENT_TASK_TIMEOUT_SECONDS).',
};
const RERUN = 'Remove and re-apply the label to run it again.';

/** Every text the task lifecycle posts on a Linear issue. */
export const lifecycleMessages = {
  starting: (task: Task) => `bgagent is starting on this issue in \`${task.repo}\` (task \`${task.id}\`). Progress shows here.`,
  prOpened: (pr: { url: string; number: number }) => `bgagent opened pull request #${pr.number}: ${pr.url}`,
  summary,
};

/** One comment that tells the whole outcome: what happened, the PR, cost, turns, duration, task id, and what to do on failure. */
function summary(task: Task, now: number): string {
  const lines: string[] = [headline(task), ''];
  if (task.status !== 'COMPLETED' && task.status !== 'CANCELLED') {
    if (task.errorMessage) lines.push(`**Reason:** ${task.errorMessage}`);
    lines.push(`**What to do:** ${remedy(task.errorCode)} ${RERUN}`, '');
  }
  if (task.prUrl) lines.push(`- Pull request: ${task.prUrl}`);
  lines.push(
    `- Cost: ${task.costUsd === null ? 'n/a' : `$${task.costUsd.toFixed(2)}`}`,
    `- Turns: ${task.turns ?? 'n/a'}/${task.maxTurns ?? 'no limit'}`,
    `- Duration: ${duration((task.finishedAt ?? now) - (task.startedAt ?? task.createdAt))}`,
    `- Task: \`${task.id}\``,
  );
  return lines.join('\n');
}

function headline(task: Task): string {
  switch (task.status) {
    case 'COMPLETED':
      if (task.outcome === 'no_changes') return '✅ **bgagent finished**: no changes were needed.';
      if (task.prUrl) return `✅ **bgagent finished**: pull request ${task.prUrl}`;
      return `✅ **bgagent finished**: branch \`${task.branchName}\` pushed.`;
    case 'CANCELLED':
      return `❌ **bgagent task cancelled**${task.cancelledBy ? ` by ${task.cancelledBy}` : ''}.`;
    case 'TIMED_OUT':
      return '❌ **bgagent stopped**: the task ran past its time limit.';
    default:
      return `❌ **bgagent could not finish this task** (${task.errorCode ?? 'FAILED'}).`;
  }
}

export function remedy(code: string | null): string {
  return (code && (FAILURE_REMEDIES[code] ?? MORE_REMEDIES[code])) ?? FAILURE_REMEDIES.INTERNAL_ERROR!;
}

export function duration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${s % 60}s`;
  return `${Math.floor(m / 60)}h ${m % 60}m`;
}
