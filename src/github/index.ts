export { createGitHubClient, personalAccessTokenAuth, DEFAULT_GITHUB_TIMEOUT_MS } from './client.js';
export type { GitHubAuth, GitHubClientOptions, PersonalAccessTokenAuthOptions } from './client.js';
export { githubAppAuth, createAppJwt, INSTALLATION_TOKEN_REFRESH_MARGIN_MS } from './app-auth.js';
export type { GitHubAppAuthOptions } from './app-auth.js';
export { GitHubApiError, isGitHubApiError } from './errors.js';
export type { GitHubValidationError } from './errors.js';
export { preflightRepo, GitHubPreflightError } from './preflight.js';
export type { GitHubPreflightErrorCode, PreflightRepoInput, PreflightRepoResult } from './preflight.js';
export {
  findOrCreatePullRequest,
  buildPullRequestBody,
  pullRequestTitle,
  commentOnPullRequest,
  MAX_PULL_REQUEST_TITLE_CHARS,
} from './pull-requests.js';
export type { FindOrCreatePullRequestInput, PullRequestRef, PullRequestBodyInput, PullRequestComment } from './pull-requests.js';
export { parseGitHubRepo } from './repo-name.js';
export type { GitHubRepoName } from './repo-name.js';
