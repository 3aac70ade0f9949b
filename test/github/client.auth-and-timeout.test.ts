import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGitHubClient, personalAccessTokenAuth } from '../../src/github/client.js';
import { GitHubApiError } from '../../src/github/errors.js';
import { startGitHubEmulator, type GitHubEmulator } from '../support/github/emulator.js';

const GOOD = 'fake-ghp-rotatedTokenValue0000000000000000000';
const STALE = 'fake-ghp-staleTokenValue000000000000000000000';

let gh: GitHubEmulator;
let silent: Server;
let silentUrl: string;

beforeAll(async () => {
  gh = await startGitHubEmulator({ tokens: { [GOOD]: { login: 'bot', repos: { 'acme/app': 'push' } } } });
  await gh.createRepo('acme', 'app');
  silent = createServer(() => {}); // accepts requests and never answers
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  silentUrl = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await gh.close();
  silent.closeAllConnections();
  await new Promise((resolve) => silent.close(resolve));
});

describe('createGitHubClient', () => {
  it('after a 401 invalidates the credential and retries once with the fresh token', async () => {
    let current = STALE;
    let invalidations = 0;
    const auth = personalAccessTokenAuth({
      getToken: async () => current,
      invalidateToken: () => {
        invalidations++;
        current = GOOD;
      },
    });
    const octokit = createGitHubClient({ apiUrl: `${gh.url}/`, auth, owner: 'acme', repo: 'app' });
    const { data } = await octokit.rest.repos.get({ owner: 'acme', repo: 'app' });
    expect(data.full_name).toBe('acme/app');
    expect(invalidations).toBe(1);
    expect(gh.calls.slice(-2).map((c) => c.status)).toEqual([401, 200]);
  });

  it('gives up after the retry with a GitHubApiError that holds no token', async () => {
    let invalidations = 0;
    const auth = personalAccessTokenAuth({ getToken: async () => STALE, invalidateToken: () => invalidations++ });
    const octokit = createGitHubClient({ apiUrl: gh.url, auth, owner: 'acme', repo: 'app' });
    const err = await octokit.rest.repos.get({ owner: 'acme', repo: 'app' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GitHubApiError);
    expect(err).toMatchObject({ status: 401, message: 'GitHub GET /repos/{owner}/{repo} failed: 401 Bad credentials' });
    expect(invalidations).toBe(1);
    expect(`${JSON.stringify(err)} ${(err as Error).stack}`).not.toContain(STALE);
  });

  it('retries a read through a short GitHub outage, and gives up with the status after two retries', async () => {
    const auth = personalAccessTokenAuth({ getToken: async () => GOOD });
    const octokit = createGitHubClient({ apiUrl: gh.url, auth, owner: 'acme', repo: 'app' });
    gh.failNext(2, 502);
    const before = gh.calls.length;
    expect((await octokit.rest.repos.get({ owner: 'acme', repo: 'app' })).data.full_name).toBe('acme/app');
    expect(gh.calls.slice(before).map((c) => c.status)).toEqual([502, 502, 200]);

    gh.failNext(3, 503);
    const err = await octokit.rest.repos.get({ owner: 'acme', repo: 'app' }).catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 503 });
    gh.failNext(0, 503);
  });

  it('never sends a POST twice: a pull request that may have been created is not created again', async () => {
    const auth = personalAccessTokenAuth({ getToken: async () => GOOD });
    const octokit = createGitHubClient({ apiUrl: gh.url, auth, owner: 'acme', repo: 'app' });
    gh.failNext(1, 502);
    const before = gh.calls.length;
    const err = await octokit.rest.pulls.create({ owner: 'acme', repo: 'app', title: 't', head: 'b', base: 'main' }).catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 502 });
    expect(gh.calls.slice(before).map((c) => `${c.method} ${c.status}`)).toEqual(['POST 502']);
  });

  it('ends a request GitHub does not answer with a timeout error (status 0)', async () => {
    const auth = personalAccessTokenAuth({ getToken: async () => GOOD });
    const octokit = createGitHubClient({ apiUrl: silentUrl, auth, owner: 'acme', repo: 'app', timeoutMs: 100 });
    const err = await octokit.rest.repos.get({ owner: 'acme', repo: 'app' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GitHubApiError);
    expect(err).toMatchObject({ status: 0, message: 'GitHub GET /repos/{owner}/{repo} timed out after 100 ms' });
  });

  it('reports an unreachable API as a network error (status 0)', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const auth = personalAccessTokenAuth({ getToken: async () => GOOD });
    const octokit = createGitHubClient({ apiUrl: `http://127.0.0.1:${port}`, auth, owner: 'acme', repo: 'app' });
    const err = await octokit.rest.repos.get({ owner: 'acme', repo: 'app' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GitHubApiError);
    expect(err).toMatchObject({ status: 0 });
    expect((err as Error).message).toMatch(/ECONNREFUSED/);
  });
});
