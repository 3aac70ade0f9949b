/** Every text bgagent posts on a Linear issue when it will not (or cannot yet) work on it. */
export const linearMessages = {
  notInProject: (label: string) =>
    `bgagent can't work on this issue: it isn't in a project. Add it to a project that is onboarded to bgagent, then re-apply the \`${label}\` label.`,
  projectNotOnboarded: (projectId: string, name: string | undefined) =>
    `bgagent can't work on this issue: its project${name ? ` "${name}"` : ''} isn't onboarded. An admin can onboard it with:\n\n\`bgagent linear onboard-project ${projectId} --repo <name>\``,
  projectRemoved: (projectId: string, name: string) =>
    `bgagent can't work on this issue: its project "${name}" was removed from bgagent. An admin can onboard it again with:\n\n\`bgagent linear onboard-project ${projectId} --repo <name>\``,
  missingOrgOrActor: () =>
    "bgagent can't work on this issue: the webhook did not say which workspace or which person applied the label. Re-apply the label; if this keeps happening, check the webhook's configuration in Linear.",
  userNotLinked: (actorName: string | undefined) =>
    `bgagent can't work on this issue: ${actorName ? `${actorName}'s` : 'your'} Linear account isn't linked to a bgagent user. An admin can link it with:\n\n\`bgagent linear link --linear-user <your email or id> --user <bgagent user>\``,
  validationRefused: (message: string) => `bgagent refused this task: ${message}`,
  unavailable: (label: string) => `bgagent is temporarily unavailable and could not start this task. Try again by re-applying the \`${label}\` label.`,
  refused: (requestId: string) => `bgagent could not start this task because of an unexpected error (request id \`${requestId}\`). An admin can find the details in the server log.`,
  queued: (cap: number) =>
    `You already have ${cap} bgagent task${cap === 1 ? '' : 's'} running, so this one is queued. It starts on its own when one of them finishes.`,
  help: (label: string) =>
    [
      '**bgagent labels**',
      `- \`${label}\`: bgagent runs a coding agent on this issue in the project's repository and opens a pull request. Progress shows here as reactions and comments.`,
      `- \`${label}:help\`: shows this note.`,
      'Remove and re-apply the label to run again.',
    ].join('\n'),
};
