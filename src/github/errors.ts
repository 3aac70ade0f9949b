/**
 * A failed GitHub API call, stripped of everything that could carry a secret: only the method, the
 * route template, the HTTP status and GitHub's own message (Octokit's error holds request headers).
 */
export class GitHubApiError extends Error {
  override name = 'GitHubApiError';
  constructor(
    message: string,
    /** The HTTP status, or 0 when no response came back (network error, timeout). */
    readonly status: number,
    /** GitHub's validation errors (422), e.g. `[{ resource: 'PullRequest', field: 'head', code: 'invalid' }]`. */
    readonly errors: readonly GitHubValidationError[] = [],
  ) {
    super(message);
  }
}

export interface GitHubValidationError {
  resource?: string;
  field?: string;
  code?: string;
  message?: string;
}

export function isGitHubApiError(err: unknown): err is GitHubApiError {
  return err instanceof GitHubApiError;
}
