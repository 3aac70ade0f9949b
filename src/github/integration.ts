import type { Logger } from '../log.js';
import type { Repo, Task } from '../tasks/task.js';
import { githubAppAuth } from './app-auth.js';
import { createGitHubClient, personalAccessTokenAuth, type GitHubAuth } from './client.js';
import { preflightRepo } from './preflight.js';
import { buildPullRequestBody, findOrCreatePullRequest, pullRequestTitle, type PullRequestRef } from './pull-requests.js';
import { parseGitHubRepo } from './repo-name.js';

export interface GitHubIntegrationOptions {
  apiUrl: string;
  auth: GitHubAuth;
  logger: Logger;
  /** Where a task's page lives (BGAGENT_PUBLIC_URL), for the PR body. */
  taskUrl?: (taskId: string) => string;
}

/**
 * What the runner needs from GitHub for repositories hosted there: pre-flight before any agent cost,
 * the token git pushes with, and the pull request after the push.
 */
export class GitHubIntegration {
  private readonly host: string;

  constructor(private readonly opts: GitHubIntegrationOptions) {
    this.host = webHostOf(opts.apiUrl);
  }

  /** A repository is GitHub's when its clone URL is on the host GITHUB_API_URL serves. */
  handles(repo: Repo): boolean {
    try {
      const url = new URL(repo.cloneUrl);
      return /^https?:$/.test(url.protocol) && url.host === this.host;
    } catch {
      return false;
    }
  }

  private client(repo: Repo) {
    const { owner, repo: name } = parseGitHubRepo(repo.cloneUrl);
    return { owner, name, octokit: createGitHubClient({ apiUrl: this.opts.apiUrl, auth: this.opts.auth, owner, repo: name, logger: this.opts.logger }) };
  }

  /** Throws GitHubPreflightError (REPO_NOT_FOUND_OR_NO_ACCESS, INSUFFICIENT_GITHUB_REPO_PERMISSIONS). */
  async preflight(repo: Repo): Promise<void> {
    const { owner, name, octokit } = this.client(repo);
    await preflightRepo(octokit, { owner, repo: name, auth: this.opts.auth });
  }

  async pushToken(repo: Repo): Promise<string> {
    const { owner, repo: name } = parseGitHubRepo(repo.cloneUrl);
    return this.opts.auth.tokenFor(owner, name);
  }

  async openPullRequest(task: Task, repo: Repo, summary: string | null): Promise<PullRequestRef> {
    const { owner, name, octokit } = this.client(repo);
    const meta = task.channelMetadata;
    const linearIssue =
      typeof meta.issueIdentifier === 'string' && typeof meta.issueUrl === 'string' ? { identifier: meta.issueIdentifier, url: meta.issueUrl } : undefined;
    return findOrCreatePullRequest(octokit, {
      owner,
      repo: name,
      head: task.branchName,
      base: repo.defaultBranch,
      title: pullRequestTitle(task.taskDescription),
      body: buildPullRequestBody({ summary: summary ?? '', taskId: task.id, taskUrl: this.opts.taskUrl?.(task.id), linearIssue }),
    });
  }
}

/** api.github.com serves github.com; a GitHub Enterprise (or emulator) API at HOST/api/v3 serves HOST. */
export function webHostOf(apiUrl: string): string {
  const url = new URL(apiUrl);
  return url.host === 'api.github.com' ? 'github.com' : url.host;
}

export interface GitHubAuthConfig {
  apiUrl: string;
  tokenRef: string | undefined;
  appId: string | undefined;
  appPrivateKeyRef: string | undefined;
}

/** A GitHub App when one is configured, else a personal access token, else no GitHub at all. */
export function githubAuthFrom(
  config: GitHubAuthConfig,
  resolve: (ref: string) => Promise<string>,
  invalidate: (ref: string) => void,
  logger: Logger,
): GitHubAuth | undefined {
  if (config.appId && config.appPrivateKeyRef) {
    const keyRef = config.appPrivateKeyRef;
    return githubAppAuth({ apiUrl: config.apiUrl, appId: config.appId, getPrivateKey: () => resolve(keyRef), logger });
  }
  if (config.tokenRef) {
    const ref = config.tokenRef;
    return personalAccessTokenAuth({ getToken: () => resolve(ref), invalidateToken: () => invalidate(ref) });
  }
  return undefined;
}
