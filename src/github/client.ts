import { Octokit } from '@octokit/rest';
import { silentLogger, type Logger } from '../log.js';
import { GitHubApiError, type GitHubValidationError } from './errors.js';

/** Where the token for a repository comes from: a personal access token or a GitHub App installation. */
export interface GitHubAuth {
  readonly kind: 'token' | 'app';
  /** A token that can act on owner/repo (also the password for git over HTTPS, user `x-access-token`). */
  tokenFor(owner: string, repo: string): Promise<string>;
  /** Forget a token GitHub refused (401), so the next tokenFor fetches a fresh one. */
  invalidate(owner: string, repo: string): void;
  /**
   * App only: the permissions of the installation token for owner/repo (e.g. `{ contents: 'write' }`).
   * GitHub does not report `permissions` on a repository read with an installation token, so pre-flight asks here.
   */
  permissionsFor?(owner: string, repo: string): Promise<Record<string, string>>;
}

export interface PersonalAccessTokenAuthOptions {
  /** Resolves the token, e.g. `() => resolver.resolve(config.github.tokenRef).then((s) => s.reveal())`. */
  getToken: () => Promise<string>;
  /** Drops the cached credential after GitHub refused it, e.g. `() => resolver.invalidate(ref)`. */
  invalidateToken?: () => void;
}

export function personalAccessTokenAuth(opts: PersonalAccessTokenAuthOptions): GitHubAuth {
  return {
    kind: 'token',
    tokenFor: () => opts.getToken(),
    invalidate: () => opts.invalidateToken?.(),
  };
}

export interface GitHubClientOptions {
  /** GITHUB_API_URL: https://api.github.com, or https://HOST/api/v3 for GitHub Enterprise Server. */
  apiUrl: string;
  auth: GitHubAuth;
  /** The repository this client acts on; its token is chosen by it (an App installation is per repository). */
  owner: string;
  repo: string;
  /** Per request. Default 15 s. */
  timeoutMs?: number;
  logger?: Logger;
}

export const DEFAULT_GITHUB_TIMEOUT_MS = 15_000;

/**
 * An Octokit for one repository. Every request carries a fresh-enough token from `auth` and its own
 * timeout; a 401 invalidates the token and retries once; every failure is a GitHubApiError.
 */
export function createGitHubClient(opts: GitHubClientOptions): Octokit {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_GITHUB_TIMEOUT_MS;
  const logger = opts.logger ?? silentLogger;
  const octokit = new Octokit({
    baseUrl: opts.apiUrl.replace(/\/+$/, ''),
    userAgent: 'bgagent',
    log: {
      debug: (msg: string) => logger.debug(msg),
      info: (msg: string) => logger.info(msg),
      warn: (msg: string) => logger.warn(msg),
      error: (msg: string) => logger.error(msg),
    },
  });
  octokit.hook.wrap('request', async (request, options) => {
    const send = async () => {
      // Mutate in place: with several request hooks registered, before-after-hook passes the inner layers
      // the original options object and ignores the one given to request().
      options.headers.authorization = `token ${await opts.auth.tokenFor(opts.owner, opts.repo)}`;
      options.request = { ...options.request, signal: AbortSignal.timeout(timeoutMs) };
      return request(options);
    };
    const what = `${options.method} ${options.url}`;
    const sendWithRetries = async () => {
      for (let attempt = 1; ; attempt++) {
        try {
          return await send();
        } catch (err) {
          if (!isRetryable(options.method, err) || attempt > RETRY_DELAYS_MS.length) throw err;
          logger.warn({ request: what, status: statusOf(err) ?? 0, attempt }, 'GitHub request failed; retrying');
          await new Promise((r) => setTimeout(r, RETRY_DELAYS_MS[attempt - 1]));
        }
      }
    };
    try {
      try {
        return await sendWithRetries();
      } catch (err) {
        if (statusOf(err) !== 401) throw err;
        opts.auth.invalidate(opts.owner, opts.repo);
        return await sendWithRetries();
      }
    } catch (err) {
      throw toGitHubApiError(err, what, timeoutMs);
    }
  });
  return octokit;
}

const RETRY_DELAYS_MS = [250, 1000];

/**
 * A GitHub outage (502/503/504, a dropped connection) retried where repeating the request is harmless:
 * reads, and PATCH/PUT that set a state. A POST (a new pull request) is never sent twice; a timeout is
 * not retried, since it already waited the whole budget.
 */
function isRetryable(method: string, err: unknown): boolean {
  if (!['GET', 'HEAD', 'PATCH', 'PUT'].includes(method.toUpperCase())) return false;
  // Octokit reports a failed connection as status 500 without a response.
  const e = err as { name?: string; response?: unknown; cause?: { name?: string } } | null;
  if (e?.response === undefined) return e?.name !== 'TimeoutError' && e?.cause?.name !== 'TimeoutError';
  const status = statusOf(err);
  return status === 502 || status === 503 || status === 504;
}

function statusOf(err: unknown): number | undefined {
  const status = (err as { status?: unknown } | null)?.status;
  return typeof status === 'number' ? status : undefined;
}

/** `what` is the method and route template (`GET /repos/{owner}/{repo}`): never a token or a filled-in URL. */
export function toGitHubApiError(err: unknown, what: string, timeoutMs: number): GitHubApiError {
  if (err instanceof GitHubApiError) return err;
  const e = err as {
    name?: string;
    status?: number;
    cause?: { name?: string; message?: string; cause?: { message?: string } };
    response?: { data?: { message?: string; errors?: GitHubValidationError[] } | string };
  };
  if (e?.name === 'TimeoutError' || e?.cause?.name === 'TimeoutError') {
    return new GitHubApiError(`GitHub ${what} timed out after ${timeoutMs} ms`, 0);
  }
  if (!e?.response) {
    const reason = e?.cause?.cause?.message ?? e?.cause?.message ?? 'network error';
    return new GitHubApiError(`GitHub ${what} failed: ${reason}`, 0);
  }
  const data = e.response.data;
  const message = typeof data === 'object' && data?.message ? data.message : `HTTP ${e.status}`;
  const errors = typeof data === 'object' && Array.isArray(data?.errors) ? data.errors : [];
  const details = errors
    .map((v) => v.message ?? [v.resource, v.field, v.code].filter(Boolean).join(' '))
    .filter(Boolean);
  const suffix = details.length ? ` (${details.join('; ')})` : '';
  return new GitHubApiError(`GitHub ${what} failed: ${e.status} ${message}${suffix}`, e.status ?? 0, errors);
}
