import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGitHubEmulator, type GitHubEmulator } from '../support/github/emulator.js';

// git must run asynchronously: the emulator serves it from this very process.
const run = promisify(execFile);

const PUSH_TOKEN = 'fake-ghp-gitPushToken000000000000000000000000';
const READ_TOKEN = 'fake-ghp-gitReadToken000000000000000000000000';

let gh: GitHubEmulator;
let home: string;

beforeAll(async () => {
  gh = await startGitHubEmulator({
    tokens: {
      [PUSH_TOKEN]: { login: 'writer', repos: { 'acme/site': 'push' } },
      [READ_TOKEN]: { login: 'reader', repos: { 'acme/site': 'pull' } },
    },
  });
  await gh.createRepo('acme', 'site', { files: { 'index.html': '<h1>hi</h1>\n' } });
  home = mkdtempSync(join(tmpdir(), 'bgagent-git-home-'));
});
afterAll(async () => {
  await gh.close();
  rmSync(home, { recursive: true, force: true });
});

/**
 * git's environment: an empty HOME, no prompts, and (with a token) a credential helper given through
 * GIT_CONFIG_COUNT that reads the token from an environment variable — never a token in the URL.
 */
function gitEnv(token?: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: home,
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_TERMINAL_PROMPT: '0',
    GIT_AUTHOR_NAME: 'agent',
    GIT_AUTHOR_EMAIL: 'agent@example.com',
    GIT_COMMITTER_NAME: 'agent',
    GIT_COMMITTER_EMAIL: 'agent@example.com',
  };
  if (token) {
    Object.assign(env, {
      GIT_CONFIG_COUNT: '1',
      GIT_CONFIG_KEY_0: 'credential.helper',
      GIT_CONFIG_VALUE_0: '!f() { test "$1" = get && echo username=x-access-token && echo "password=$TEST_GITHUB_TOKEN"; }; f',
      TEST_GITHUB_TOKEN: token,
    });
  }
  return env;
}

async function git(cwd: string, env: NodeJS.ProcessEnv, ...args: string[]): Promise<string> {
  const { stdout } = await run('git', args, { cwd, env });
  return stdout.trim();
}

async function failure(cwd: string, env: NodeJS.ProcessEnv, ...args: string[]): Promise<string> {
  const err = (await run('git', args, { cwd, env }).then(
    () => undefined,
    (e: unknown) => e,
  )) as { stderr?: string } | undefined;
  expect(err, `git ${args.join(' ')} should fail`).toBeDefined();
  return String(err?.stderr);
}

/** A clone (with the push token) holding one new commit on `branch`. */
async function cloneWithCommit(branch: string): Promise<string> {
  const work = mkdtempSync(join(tmpdir(), 'bgagent-git-work-'));
  await git(work, gitEnv(PUSH_TOKEN), 'clone', '-q', gh.gitUrl('acme', 'site'), '.');
  await git(work, gitEnv(), 'checkout', '-q', '-b', branch);
  writeFileSync(join(work, `${branch.replace(/\//g, '-')}.txt`), 'work\n');
  await git(work, gitEnv(), 'add', '-A');
  await git(work, gitEnv(), 'commit', '-q', '-m', `work on ${branch}`);
  return work;
}

describe('git over HTTP through the emulator', () => {
  it('clones and pushes with the token from a credential helper', async () => {
    const work = await cloneWithCommit('bgagent/01A/feature');
    await git(work, gitEnv(PUSH_TOKEN), 'push', '-q', 'origin', 'bgagent/01A/feature');
    const local = await git(work, gitEnv(), 'rev-parse', 'HEAD');
    expect(await gh.branchSha('acme', 'site', 'bgagent/01A/feature')).toBe(local);
    const pushes = gh.calls.filter((c) => c.kind === 'git' && c.path.endsWith('/git-receive-pack'));
    expect(pushes.at(-1)).toMatchObject({ method: 'POST', status: 200, actor: 'writer' });
    rmSync(work, { recursive: true, force: true });
  });

  it('refuses a clone and a push without a token', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'bgagent-git-empty-'));
    expect(await failure(empty, gitEnv(), 'clone', '-q', gh.gitUrl('acme', 'site'), '.')).toMatch(/Authentication failed|could not read Username/);
    const work = await cloneWithCommit('bgagent/01B/feature');
    expect(await failure(work, gitEnv(), 'push', '-q', 'origin', 'bgagent/01B/feature')).toMatch(/Authentication failed|could not read Username/);
    expect(await gh.branchSha('acme', 'site', 'bgagent/01B/feature')).toBeUndefined();
    rmSync(empty, { recursive: true, force: true });
    rmSync(work, { recursive: true, force: true });
  });

  it('lets a read-only token clone but not push', async () => {
    const work = await cloneWithCommit('bgagent/01C/feature');
    await git(work, gitEnv(READ_TOKEN), 'fetch', '-q', 'origin');
    const stderr = await failure(work, gitEnv(READ_TOKEN), 'push', '-q', 'origin', 'bgagent/01C/feature');
    expect(stderr).toMatch(/403|denied/);
    expect(stderr).not.toContain(READ_TOKEN);
    expect(await gh.branchSha('acme', 'site', 'bgagent/01C/feature')).toBeUndefined();
    rmSync(work, { recursive: true, force: true });
  });

  it('refuses an unknown token', async () => {
    const work = await cloneWithCommit('bgagent/01D/feature');
    const stderr = await failure(work, gitEnv('ghp_notAToken'), 'push', '-q', 'origin', 'bgagent/01D/feature');
    expect(stderr).toMatch(/Authentication failed/);
    expect(await gh.branchSha('acme', 'site', 'bgagent/01D/feature')).toBeUndefined();
    rmSync(work, { recursive: true, force: true });
  });
});
