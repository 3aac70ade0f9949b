import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGitHubClient, personalAccessTokenAuth } from '../../src/github/client.js';
import { GitHubApiError } from '../../src/github/errors.js';
import { commentOnPullRequest, findOrCreatePullRequest } from '../../src/github/pull-requests.js';
import { startGitHubEmulator, type GitHubEmulator } from '../support/github/emulator.js';

const run = promisify(execFile);
const TOKEN = 'fake-ghp-prTokenValue000000000000000000000000';
const GIT_ENV = { GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@t', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@t' };

let gh: GitHubEmulator;
let octokit: ReturnType<typeof createGitHubClient>;

/** Commits a file on a new branch directly in the served bare repository (no push needed for these tests). */
async function addBranch(branch: string): Promise<void> {
  const repo = gh.state.repos['acme/app']!;
  const work = mkdtempSync(join(tmpdir(), 'bgagent-pr-work-'));
  const env = { ...process.env, ...GIT_ENV };
  try {
    await run('git', ['clone', '-q', repo.path, work], { env });
    await run('git', ['checkout', '-q', '-b', branch], { cwd: work, env });
    writeFileSync(join(work, 'change.txt'), `${branch}\n`);
    await run('git', ['add', '-A'], { cwd: work, env });
    await run('git', ['commit', '-q', '-m', 'change'], { cwd: work, env });
    await run('git', ['push', '-q', 'origin', branch], { cwd: work, env });
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

beforeAll(async () => {
  gh = await startGitHubEmulator({ tokens: { [TOKEN]: { login: 'bot', repos: { 'acme/app': 'push' } } } });
  await gh.createRepo('acme', 'app');
  octokit = createGitHubClient({
    apiUrl: gh.url,
    auth: personalAccessTokenAuth({ getToken: async () => TOKEN }),
    owner: 'acme',
    repo: 'app',
  });
});
afterAll(() => gh.close());

describe('findOrCreatePullRequest', () => {
  it('creates the PR once and returns the same PR, with the new body, the second time', async () => {
    await addBranch('bgagent/01TASK/fix-typo');
    const input = { owner: 'acme', repo: 'app', head: 'bgagent/01TASK/fix-typo', base: 'main', title: 'Fix typo', body: 'first' };

    const first = await findOrCreatePullRequest(octokit, input);
    expect(first).toMatchObject({ number: 1, created: true });
    expect(first.url).toMatch(/\/acme\/app\/pull\/1$/);

    const second = await findOrCreatePullRequest(octokit, { ...input, body: 'second' });
    expect(second).toEqual({ number: first.number, url: first.url, created: false });

    expect(gh.state.pulls).toHaveLength(1);
    expect(gh.state.pulls[0]).toMatchObject({ head: 'bgagent/01TASK/fix-typo', base: 'main', title: 'Fix typo', body: 'second', state: 'open' });
    const creates = gh.calls.filter((c) => c.method === 'POST' && c.path === '/repos/acme/app/pulls');
    expect(creates).toHaveLength(1);
  });

  it('refuses a branch that does not exist in the repository with a 422 validation error', async () => {
    const err = await findOrCreatePullRequest(octokit, {
      owner: 'acme',
      repo: 'app',
      head: 'never-pushed',
      base: 'main',
      title: 't',
      body: 'b',
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GitHubApiError);
    expect((err as GitHubApiError).status).toBe(422);
    expect((err as GitHubApiError).message).toMatch(/Validation Failed.*PullRequest head invalid/);
    expect((err as GitHubApiError).message).not.toContain(TOKEN);
  });

  it('refuses a branch with no commits beyond the base, as GitHub does', async () => {
    await run('git', ['branch', 'bgagent/03TASK/nothing', 'main'], { cwd: gh.state.repos['acme/app']!.path });
    const err = await findOrCreatePullRequest(octokit, {
      owner: 'acme',
      repo: 'app',
      head: 'bgagent/03TASK/nothing',
      base: 'main',
      title: 't',
      body: 'b',
    }).catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 422, message: expect.stringContaining('No commits between main and bgagent/03TASK/nothing') });
  });

  it('comments on the pull request through the issue comments API', async () => {
    await addBranch('bgagent/02TASK/comment');
    const pr = await findOrCreatePullRequest(octokit, {
      owner: 'acme',
      repo: 'app',
      head: 'bgagent/02TASK/comment',
      base: 'main',
      title: 'Comment me',
      body: 'b',
    });
    const comment = await commentOnPullRequest(octokit, { owner: 'acme', repo: 'app', number: pr.number, body: 'Task finished.' });
    expect(comment.url).toContain(`/pull/${pr.number}#issuecomment-${comment.id}`);
    expect(gh.state.comments).toEqual([expect.objectContaining({ issueNumber: pr.number, body: 'Task finished.', user: 'bot' })]);
  });
});
