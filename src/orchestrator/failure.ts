/**
 * A failure with a code the user can act on. Pipeline steps throw it; the runner records code and
 * message on the task and in its terminal event.
 */
export class TaskFailure extends Error {
  override name = 'TaskFailure';
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** What a user can do about each failure code; used in summaries and channel feedback. */
export const FAILURE_REMEDIES: Record<string, string> = {
  AGENT_FAILED: 'Look at the task events for the agent output, then re-submit.',
  MAX_TURNS_REACHED: 'Raise the turn limit (--max-turns) or narrow the task, then re-submit.',
  BUDGET_EXCEEDED: 'Raise the budget (--max-budget) or narrow the task, then re-submit.',
  WORKER_LOST: 'The worker running the agent stopped (crash or restart). Re-submit the task.',
  WORKSPACE_FAILED: 'Check that the repository clone URL is reachable and the credentials can read it.',
  PUSH_FAILED: 'Check that the credentials can push to the repository.',
  GIT_CREDENTIAL_UNAVAILABLE: "Check the repository's git credential with `bgagent doctor` (a server secret it names must be listed in BGAGENT_GIT_CREDENTIAL_REFS), or give it again with `bgagent repo add … --git-token-stdin`.",
  QUEUE_TIMEOUT: 'The task waited too long for a free slot. Re-submit it when fewer tasks are running.',
  REPO_NOT_ONBOARDED: 'Onboard the repository with `bgagent repo add`, then re-submit.',
  REPO_NOT_FOUND_OR_NO_ACCESS: 'Check the repository name and that the GitHub token can read it.',
  INSUFFICIENT_GITHUB_REPO_PERMISSIONS: 'Give the GitHub token push access to the repository.',
  PR_FAILED: 'The branch is pushed; open the pull request by hand or re-submit once GitHub answers.',
  SANDBOX_UNAVAILABLE: 'No agent runs without a sandbox: install bubblewrap on the worker (apt-get install bubblewrap) and check `bgagent doctor`, or set BGAGENT_SANDBOX=none to run agents unconfined.',
  INTERNAL_ERROR: 'An unexpected error; the server log has the details. Re-submit the task.',
};
