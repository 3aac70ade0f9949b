import type { Octokit } from '@octokit/rest';
import type { GitHubAuth } from './client.js';
import { GitHubApiError } from './errors.js';

export type GitHubPreflightErrorCode = 'REPO_NOT_FOUND_OR_NO_ACCESS' | 'INSUFFICIENT_GITHUB_REPO_PERMISSIONS';

/** Pre-flight refused the repository; `message` tells the user what to do. */
export class GitHubPreflightError extends Error {
  override name = 'GitHubPreflightError';
  constructor(
    readonly code: GitHubPreflightErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export interface PreflightRepoResult {
  defaultBranch: string;
  /** The HTTPS clone URL (no credentials in it). */
  cloneUrl: string;
  private: boolean;
}

export interface PreflightRepoInput {
  owner: string;
  repo: string;
  /** The auth the client uses; with a GitHub App the push check reads the installation token's permissions. */
  auth?: GitHubAuth;
}

/**
 * Before any agent cost: the repository exists, our credentials can read it and can push to it.
 * Throws GitHubPreflightError for the two user-fixable cases; other failures (5xx, timeouts) propagate
 * as GitHubApiError, since retrying may help.
 */
export async function preflightRepo(octokit: Octokit, input: PreflightRepoInput): Promise<PreflightRepoResult> {
  const { owner, repo } = input;
  const name = `${owner}/${repo}`;
  let data: Awaited<ReturnType<Octokit['rest']['repos']['get']>>['data'];
  try {
    ({ data } = await octokit.rest.repos.get({ owner, repo }));
  } catch (err) {
    if (err instanceof GitHubApiError && (err.status === 404 || err.status === 401)) {
      const why =
        err.status === 401
          ? 'GitHub refused the credentials (401): check that the GitHub token or App key is valid and not expired.'
          : input.auth?.kind === 'app'
            ? 'Check the name and that the GitHub App is installed on it.'
            : 'Check the name and that the GitHub token has access to it.';
      throw new GitHubPreflightError('REPO_NOT_FOUND_OR_NO_ACCESS', `Repository ${name} was not found or is not accessible. ${why}`);
    }
    throw err;
  }
  if (input.auth?.permissionsFor) {
    const permissions = await input.auth.permissionsFor(owner, repo);
    if (permissions.contents !== 'write') {
      throw new GitHubPreflightError(
        'INSUFFICIENT_GITHUB_REPO_PERMISSIONS',
        `The GitHub App can read ${name} but cannot push to it: grant the App "Contents: Read and write" (and "Pull requests: Read and write") permissions.`,
      );
    }
  } else if (data.permissions && !data.permissions.push) {
    throw new GitHubPreflightError(
      'INSUFFICIENT_GITHUB_REPO_PERMISSIONS',
      `The GitHub token can read ${name} but cannot push to it: give the token write access (a fine-grained token needs "Contents" and "Pull requests" read and write).`,
    );
  }
  return { defaultBranch: data.default_branch, cloneUrl: data.clone_url, private: data.private };
}
