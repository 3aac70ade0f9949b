import type { Octokit } from '@octokit/rest';
import { GitHubApiError } from './errors.js';

export interface FindOrCreatePullRequestInput {
  owner: string;
  repo: string;
  /** The branch with the work (`bgagent/<task-id>/<slug>`), or `owner:branch` for a fork. */
  head: string;
  /** The branch to merge into, usually the default branch. */
  base: string;
  title: string;
  body: string;
}

export interface PullRequestRef {
  number: number;
  url: string;
  /** False when an open PR for the branch already existed (its body was updated). */
  created: boolean;
}

/** One open pull request per branch: update the existing one's body, or create it. */
export async function findOrCreatePullRequest(octokit: Octokit, input: FindOrCreatePullRequestInput): Promise<PullRequestRef> {
  const { owner, repo, base, title, body } = input;
  const head = input.head.includes(':') ? input.head : `${owner}:${input.head}`;
  const existing = await findOpenPullRequest(octokit, owner, repo, head);
  if (existing) {
    await octokit.rest.pulls.update({ owner, repo, pull_number: existing.number, body });
    return { ...existing, created: false };
  }
  try {
    const { data } = await octokit.rest.pulls.create({ owner, repo, head: input.head, base, title, body });
    return { number: data.number, url: data.html_url, created: true };
  } catch (err) {
    // Another worker created it between our list and create: GitHub answers 422 "A pull request already exists".
    if (err instanceof GitHubApiError && err.status === 422) {
      const raced = await findOpenPullRequest(octokit, owner, repo, head);
      if (raced) {
        await octokit.rest.pulls.update({ owner, repo, pull_number: raced.number, body });
        return { ...raced, created: false };
      }
    }
    throw err;
  }
}

async function findOpenPullRequest(
  octokit: Octokit,
  owner: string,
  repo: string,
  head: string,
): Promise<{ number: number; url: string } | undefined> {
  const { data } = await octokit.rest.pulls.list({ owner, repo, head, state: 'open', per_page: 10 });
  const pr = data[0];
  return pr ? { number: pr.number, url: pr.html_url } : undefined;
}

export interface PullRequestBodyInput {
  /** The agent's final summary of what it changed. */
  summary: string;
  taskId: string;
  /** The task's page on this bgagent server, when it has a public URL. */
  taskUrl?: string;
  linearIssue?: { identifier: string; url: string };
}

/** GitHub refuses bodies over 65,536 characters; keep room for the rest of the body. */
const MAX_SUMMARY_CHARS = 60_000;

/**
 * The PR description: the agent's summary, the Linear issue (linked, and "Fixes ENG-123" so Linear's
 * GitHub integration links the PR and closes the issue on merge) and the task id.
 */
export function buildPullRequestBody(input: PullRequestBodyInput): string {
  let summary = input.summary.trim() || '_The agent left no summary._';
  if (summary.length > MAX_SUMMARY_CHARS) summary = `${summary.slice(0, MAX_SUMMARY_CHARS)}\n\n_(summary truncated)_`;
  const lines = ['## Summary', '', summary, '', '---', ''];
  if (input.linearIssue) {
    const { identifier, url } = input.linearIssue;
    lines.push(`Linear issue: [${identifier}](${url})`, '', `Fixes ${identifier}`, '');
  }
  const task = input.taskUrl ? `[\`${input.taskId}\`](${input.taskUrl})` : `\`${input.taskId}\``;
  lines.push(`bgagent task: ${task}`, '', '_Written by a coding agent; pushed and opened by bgagent._');
  return lines.join('\n');
}

export const MAX_PULL_REQUEST_TITLE_CHARS = 72;

/** The task's first non-empty line, whitespace collapsed, at most 72 characters. */
export function pullRequestTitle(taskText: string): string {
  const firstLine =
    taskText
      .split(/\r?\n/)
      .map((l) => l.replace(/\s+/g, ' ').trim())
      .find((l) => l.length > 0) ?? '';
  if (!firstLine) return 'bgagent task';
  if (firstLine.length <= MAX_PULL_REQUEST_TITLE_CHARS) return firstLine;
  const cut = firstLine.slice(0, MAX_PULL_REQUEST_TITLE_CHARS - 1);
  const atWord = cut.replace(/\s+\S*$/, '');
  return `${atWord.length >= 40 ? atWord : cut}…`;
}

export interface PullRequestComment {
  id: number;
  url: string;
}

/** A conversation comment on the PR (the issue comments API; PRs are issues to GitHub). */
export async function commentOnPullRequest(
  octokit: Octokit,
  input: { owner: string; repo: string; number: number; body: string },
): Promise<PullRequestComment> {
  const { data } = await octokit.rest.issues.createComment({
    owner: input.owner,
    repo: input.repo,
    issue_number: input.number,
    body: input.body,
  });
  return { id: data.id, url: data.html_url };
}
