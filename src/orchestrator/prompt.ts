import type { Repo, Task } from '../tasks/task.js';

/** The instructions every agent gets: the task, where it came from, and the platform's rules. */
export function buildAgentPrompt(task: Task, repo: Repo, context: { issue?: string; guidance?: string } = {}): string {
  const parts = [
    `You are working on the repository ${repo.name} in the current directory, on branch ${task.branchName}.`,
    '',
    '## Task',
    task.taskDescription,
  ];
  if (context.issue) parts.push('', '## Issue context', context.issue);
  if (context.guidance) parts.push('', "## The repository's guidance", context.guidance);
  parts.push(
    '',
    '## Rules',
    '- Make the change the task asks for, and keep it focused.',
    '- Commit your work with clear messages. Do not push and do not open a pull request: the platform pushes the branch and opens the pull request when you finish.',
    '- You have no credentials for GitHub or Linear; do not try to obtain any.',
    '- Finish with a short summary of what you changed and why.',
  );
  return parts.join('\n');
}
