import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGitHubClient, personalAccessTokenAuth } from '../../src/github/client.js';
import { GitHubPreflightError, preflightRepo } from '../../src/github/preflight.js';
import { startGitHubEmulator, type GitHubEmulator } from '../support/github/emulator.js';

const PUSH_TOKEN = 'fake-ghp-pushTokenValue0000000000000000000000';
const READ_TOKEN = 'fake-ghp-readTokenValue0000000000000000000000';
const UNKNOWN_TOKEN = 'fake-ghp-unknownTokenValue000000000000000000';

let gh: GitHubEmulator;

beforeAll(async () => {
  gh = await startGitHubEmulator({
    tokens: {
      [PUSH_TOKEN]: { login: 'writer', repos: { 'acme/widgets': 'push' } },
      [READ_TOKEN]: { login: 'reader', repos: { 'acme/widgets': 'pull' } },
    },
  });
  await gh.createRepo('acme', 'widgets', { defaultBranch: 'trunk' });
});
afterAll(() => gh.close());

function clientWith(token: string, owner = 'acme', repo = 'widgets') {
  const auth = personalAccessTokenAuth({ getToken: async () => token });
  return { octokit: createGitHubClient({ apiUrl: gh.url, auth, owner, repo }), auth };
}

async function preflightError(token: string, owner: string, repo: string): Promise<GitHubPreflightError> {
  const { octokit } = clientWith(token, owner, repo);
  const err = await preflightRepo(octokit, { owner, repo }).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(GitHubPreflightError);
  return err as GitHubPreflightError;
}

describe('preflightRepo', () => {
  it('returns the default branch, clone URL and visibility when the token can push', async () => {
    const { octokit } = clientWith(PUSH_TOKEN);
    const result = await preflightRepo(octokit, { owner: 'acme', repo: 'widgets' });
    expect(result).toEqual({ defaultBranch: 'trunk', cloneUrl: gh.gitUrl('acme', 'widgets'), private: true });
    expect(gh.calls.at(-1)).toMatchObject({ method: 'GET', path: '/repos/acme/widgets', status: 200, actor: 'writer' });
  });

  it('fails with REPO_NOT_FOUND_OR_NO_ACCESS for a repository that does not exist', async () => {
    const err = await preflightError(PUSH_TOKEN, 'acme', 'missing');
    expect(err.code).toBe('REPO_NOT_FOUND_OR_NO_ACCESS');
    expect(err.message).toContain('acme/missing');
    expect(err.message).toMatch(/token has access/);
  });

  it('fails with REPO_NOT_FOUND_OR_NO_ACCESS for a private repository the token cannot see', async () => {
    await gh.createRepo('other', 'secret');
    const err = await preflightError(PUSH_TOKEN, 'other', 'secret');
    expect(err.code).toBe('REPO_NOT_FOUND_OR_NO_ACCESS');
  });

  it('fails with REPO_NOT_FOUND_OR_NO_ACCESS for bad credentials, without the token in the message', async () => {
    const err = await preflightError(UNKNOWN_TOKEN, 'acme', 'widgets');
    expect(err.code).toBe('REPO_NOT_FOUND_OR_NO_ACCESS');
    expect(err.message).toMatch(/401/);
    expect(err.message).not.toContain(UNKNOWN_TOKEN);
    expect(JSON.stringify(err)).not.toContain(UNKNOWN_TOKEN);
    expect(String(err.stack)).not.toContain(UNKNOWN_TOKEN);
  });

  it('fails with INSUFFICIENT_GITHUB_REPO_PERMISSIONS when the token can only read', async () => {
    const err = await preflightError(READ_TOKEN, 'acme', 'widgets');
    expect(err.code).toBe('INSUFFICIENT_GITHUB_REPO_PERMISSIONS');
    expect(err.message).toContain('acme/widgets');
    expect(err.message).toMatch(/write access/);
    expect(err.message).not.toContain(READ_TOKEN);
  });
});
