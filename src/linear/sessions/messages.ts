import type { Task } from '../../tasks/task.js';
import { duration, remedy } from '../lifecycle-messages.js';

const SUMMARY_CHARS = 1500;
const AGAIN = 'Reply here to try again, or mention bgagent on the issue.';

/** Every text an agent session shows in Linear. */
export const sessionMessages = {
  received: (issue: string | undefined) => `Got it — reading ${issue ?? 'the issue'} and getting ready.`,
  noCreator: () => "bgagent can't work on this: the session was not started by a person, so there is no one to run the task as. Delegate the issue or mention bgagent yourself.",
  notLinked: (name: string | undefined) =>
    `bgagent can't work on this: ${name ? `${name}'s` : 'your'} Linear account isn't linked to a bgagent user. An admin can link it with:\n\n\`bgagent linear link --linear-user <your email or id> --user <bgagent user>\`\n\nThen mention bgagent again.`,
  noRepos: () => "bgagent can't work on this: no repository is onboarded yet. An admin can add one with `bgagent repo add <name> --url <clone-url>`; then mention bgagent again.",
  pickRepo: (repos: string[]) =>
    [
      "Which repository should I work in? This issue's project isn't mapped to one and its team has no default. Reply with its name:",
      '',
      ...repos.map((r) => `- \`${r}\``),
      '',
      'An admin can set a default for the team with `bgagent linear team-repo <team-id> <repo>`.',
    ].join('\n'),
  repoNotRecognised: (repos: string[]) => `I couldn't find one of the repositories in your reply. Reply with one of: ${repos.map((r) => `\`${r}\``).join(', ')}.`,
  refused: (message: string) => `bgagent refused this task: ${message}`,
  queued: (cap: number) => `Queued: you already have ${cap} bgagent task${cap === 1 ? '' : 's'} running. This one starts on its own when one of them finishes.`,
  started: (task: Task) => `Started in \`${task.repo}\` (task \`${task.id}\`): preparing a workspace.`,
  stopping: () => 'Got it — stopping.',
  alreadyEnded: (task: Task) => `Task \`${task.id}\` had already ended (${task.status}); nothing to stop.`,
  followUp: () => 'Got it — passing this on.',
  unknownSession: () =>
    "bgagent has no record of this session (its start never reached bgagent, or failed), so it can't act on this. Mention bgagent again to start a new session.",
  lost: (what: 'start' | 'stop' | 'reply', deliveryId: string, unavailable: boolean) => {
    const failed = { start: 'could not start on this', stop: 'could not stop the task', reply: 'could not pass your message on' }[what];
    const why = unavailable
      ? 'it could not reach its database or Linear, also when it tried again over several minutes'
      : `of an unexpected error (delivery \`${deliveryId}\`; an admin can find the details in the server log)`;
    const todo = { start: 'Mention bgagent again to start over', stop: 'Press Stop again', reply: 'Send your message again' }[what];
    return `bgagent ${failed} because ${why}. ${todo}${unavailable ? ' in a few minutes' : ''}.`;
  },
  continued: (task: Task) => `Continuing in a follow-up task \`${task.id}\` on the same branch.`,
  finished,
};

/** The session's last word on a task: a `response` for success or a stop, an `error` otherwise. */
function finished(task: Task, now: number): { type: 'response' | 'error'; body: string } {
  const stats = `Cost ${task.costUsd === null ? 'n/a' : `$${task.costUsd.toFixed(2)}`} · Turns ${task.turns ?? 'n/a'}/${task.maxTurns ?? 'no limit'} · Duration ${duration((task.finishedAt ?? now) - (task.startedAt ?? task.createdAt))} · Task \`${task.id}\``;
  if (task.status === 'COMPLETED') {
    const summary = task.summary?.trim();
    const lines = [completedHeadline(task)];
    if (summary) lines.push('', summary.length > SUMMARY_CHARS ? `${summary.slice(0, SUMMARY_CHARS)}…` : summary);
    lines.push('', stats);
    return { type: 'response', body: lines.join('\n') };
  }
  if (task.status === 'CANCELLED') {
    return { type: 'response', body: [`Stopped${task.cancelledBy ? ` by ${task.cancelledBy}` : ''}. The agent is no longer working on this; reply here to pick it up again.`, '', stats].join('\n') };
  }
  const headline = task.status === 'TIMED_OUT' ? 'Stopped: the task ran past its time limit.' : `Could not finish this task (${task.errorCode ?? 'FAILED'}).`;
  const lines = [headline, ''];
  if (task.errorMessage) lines.push(`Reason: ${task.errorMessage}`);
  lines.push(`What to do: ${remedy(task.errorCode)} ${AGAIN}`, '');
  if (task.prUrl) lines.push(`Pull request: ${task.prUrl}`);
  lines.push(stats);
  return { type: 'error', body: lines.join('\n') };
}

function completedHeadline(task: Task): string {
  if (task.outcome === 'no_changes') return 'Done: no changes were needed.';
  if (task.prUrl) return `Done: pull request ${task.prNumber ? `#${task.prNumber} ` : ''}${task.prUrl}`;
  return `Done: branch \`${task.branchName}\` pushed.`;
}
