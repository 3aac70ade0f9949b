import { createPrivateKey, sign, type KeyObject } from 'node:crypto';
import { silentLogger, type Logger } from '../log.js';
import { DEFAULT_GITHUB_TIMEOUT_MS, type GitHubAuth } from './client.js';
import { GitHubApiError } from './errors.js';

export interface GitHubAppAuthOptions {
  /** GITHUB_API_URL. */
  apiUrl: string;
  appId: string | number;
  /** The app's private key (PEM), resolved from its credential reference at use time. */
  getPrivateKey: () => Promise<string>;
  /** Epoch ms; injectable for tests. */
  now?: () => number;
  timeoutMs?: number;
  logger?: Logger;
}

/** An installation token is reused until this long before GitHub's `expires_at`. */
export const INSTALLATION_TOKEN_REFRESH_MARGIN_MS = 5 * 60_000;

/** A GitHub App JWT (RS256): issued 60 s in the past against clock drift, valid 9 minutes (GitHub allows 10). */
export function createAppJwt(appId: string | number, privateKey: string | KeyObject, nowMs: number): string {
  const iat = Math.floor(nowMs / 1000) - 60;
  const header = { alg: 'RS256', typ: 'JWT' };
  const payload = { iat, exp: iat + 60 + 9 * 60, iss: String(appId) };
  const signingInput = `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(payload))}`;
  const key = typeof privateKey === 'string' ? createPrivateKey(privateKey) : privateKey;
  return `${signingInput}.${sign('sha256', Buffer.from(signingInput), key).toString('base64url')}`;
}

function base64url(text: string): string {
  return Buffer.from(text).toString('base64url');
}

interface InstallationToken {
  token: string;
  expiresAtMs: number;
  permissions: Record<string, string>;
}

/**
 * GitHub App authentication: app JWT → the repository's installation → an installation access token,
 * cached per installation until 5 minutes before it expires; concurrent callers share one fetch.
 */
export function githubAppAuth(opts: GitHubAppAuthOptions): GitHubAuth {
  const now = opts.now ?? Date.now;
  const timeoutMs = opts.timeoutMs ?? DEFAULT_GITHUB_TIMEOUT_MS;
  const logger = opts.logger ?? silentLogger;
  const baseUrl = opts.apiUrl.replace(/\/+$/, '');
  const installationByRepo = new Map<string, number>();
  const tokens = new Map<number, InstallationToken>();
  const inFlight = new Map<string, Promise<InstallationToken>>();

  async function appRequest<T>(method: 'GET' | 'POST', path: string, what: string): Promise<T> {
    const jwt = createAppJwt(opts.appId, await opts.getPrivateKey(), now());
    let res: Response;
    try {
      res = await fetch(`${baseUrl}${path}`, {
        method,
        headers: {
          accept: 'application/vnd.github+json',
          authorization: `Bearer ${jwt}`,
          'user-agent': 'bgagent',
          'x-github-api-version': '2022-11-28',
        },
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (err) {
      const e = err as { name?: string; cause?: { message?: string } };
      if (e.name === 'TimeoutError') throw new GitHubApiError(`GitHub ${what} timed out after ${timeoutMs} ms`, 0);
      throw new GitHubApiError(`GitHub ${what} failed: ${e.cause?.message ?? 'network error'}`, 0);
    }
    const body = (await res.json().catch(() => ({}))) as { message?: string };
    if (!res.ok) {
      throw new GitHubApiError(`GitHub ${what} failed: ${res.status} ${body.message ?? res.statusText}`, res.status);
    }
    return body as T;
  }

  async function fetchToken(owner: string, repo: string): Promise<InstallationToken> {
    const repoKey = `${owner}/${repo}`.toLowerCase();
    let installationId = installationByRepo.get(repoKey);
    if (installationId === undefined) {
      const installation = await appRequest<{ id: number }>(
        'GET',
        `/repos/${encodeURIComponent(owner)}/${encodeURIComponent(repo)}/installation`,
        'GET /repos/{owner}/{repo}/installation (is the GitHub App installed on this repository?)',
      );
      installationId = installation.id;
      installationByRepo.set(repoKey, installationId);
    }
    const cached = tokens.get(installationId);
    if (cached && now() < cached.expiresAtMs - INSTALLATION_TOKEN_REFRESH_MARGIN_MS) return cached;
    const created = await appRequest<{ token: string; expires_at: string; permissions?: Record<string, string> }>(
      'POST',
      `/app/installations/${installationId}/access_tokens`,
      'POST /app/installations/{installation_id}/access_tokens',
    );
    const fresh = {
      token: created.token,
      expiresAtMs: Date.parse(created.expires_at),
      permissions: created.permissions ?? {},
    };
    tokens.set(installationId, fresh);
    logger.debug({ installationId, expiresAt: created.expires_at }, 'GitHub App installation token issued');
    return fresh;
  }

  async function tokenInfo(owner: string, repo: string): Promise<InstallationToken> {
    const installationId = installationByRepo.get(`${owner}/${repo}`.toLowerCase());
    const cached = installationId === undefined ? undefined : tokens.get(installationId);
    if (cached && now() < cached.expiresAtMs - INSTALLATION_TOKEN_REFRESH_MARGIN_MS) return cached;
    // Keyed by installation when known, so repositories of one installation share one fetch.
    const key = installationId === undefined ? `repo:${owner}/${repo}`.toLowerCase() : `installation:${installationId}`;
    let pending = inFlight.get(key);
    if (!pending) {
      pending = fetchToken(owner, repo).finally(() => inFlight.delete(key));
      inFlight.set(key, pending);
    }
    return pending;
  }

  return {
    kind: 'app',
    tokenFor: async (owner, repo) => (await tokenInfo(owner, repo)).token,
    permissionsFor: async (owner, repo) => (await tokenInfo(owner, repo)).permissions,
    invalidate(owner, repo) {
      const key = `${owner}/${repo}`.toLowerCase();
      const installationId = installationByRepo.get(key);
      installationByRepo.delete(key);
      if (installationId !== undefined) tokens.delete(installationId);
    },
  };
}
