import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { WorkspaceManager, slugify, taskBranchName } from '../../src/workspace/index.js';
import { createRemoteFixture, git, type RemoteFixture } from './remote-fixture.js';

let fx: RemoteFixture;
afterEach(() => fx?.cleanup());

const repoOf = (f: RemoteFixture) => ({ name: 'acme/demo', cloneUrl: f.url, defaultBranch: 'main' });

describe('WorkspaceManager.prepare', () => {
  it('makes a fresh checkout on a new branch from the default branch, isolated from the mirror', async () => {
    fx = createRemoteFixture();
    const manager = new WorkspaceManager({ dataDir: fx.dataDir });
    const ws = await manager.prepare({ taskId: '01TASKA', repo: repoOf(fx), branch: 'bgagent/01taska/fix-it' });

    expect(ws).toEqual({ path: join(fx.dataDir, 'workspaces', '01TASKA'), branch: 'bgagent/01taska/fix-it', baseSha: git(fx.bare, 'rev-parse', 'main'), mirror: manager.mirrorPath('acme/demo') });
    expect(git(ws.path, 'symbolic-ref', '--short', 'HEAD')).toBe('bgagent/01taska/fix-it');
    expect(readFileSync(join(ws.path, 'src', 'file3.txt'), 'utf8')).toBe('content 3\n');
    expect(git(ws.path, 'status', '--porcelain')).toBe('');
    // The agent sees the real remote as origin, and its commits stay in its own repository.
    expect(git(ws.path, 'remote', 'get-url', 'origin')).toBe(fx.url);
    writeFileSync(join(ws.path, 'new.txt'), 'x\n');
    git(ws.path, 'add', '-A');
    git(ws.path, 'commit', '-q', '-m', 'agent work');
    const mirror = manager.mirrorPath('acme/demo');
    expect(() => git(mirror, 'cat-file', '-e', git(ws.path, 'rev-parse', 'HEAD'))).toThrow();
    expect(git(mirror, 'for-each-ref', 'refs/heads/bgagent')).toBe('');
  });

  it('reuses the workspace when the task resumes, keeping what the agent wrote', async () => {
    fx = createRemoteFixture();
    const manager = new WorkspaceManager({ dataDir: fx.dataDir });
    const opts = { taskId: '01TASKB', repo: repoOf(fx), branch: 'bgagent/01taskb/x' };
    const first = await manager.prepare(opts);
    writeFileSync(join(first.path, 'half-done.txt'), 'work in progress\n');
    fx.commit('upstream-moved.txt', 'moved\n');

    const again = await new WorkspaceManager({ dataDir: fx.dataDir }).prepare(opts);
    expect(again).toEqual(first);
    expect(readFileSync(join(again.path, 'half-done.txt'), 'utf8')).toBe('work in progress\n');
  });

  it('continues from the branch on the remote when an earlier attempt pushed it and the workspace is gone', async () => {
    fx = createRemoteFixture();
    const manager = new WorkspaceManager({ dataDir: fx.dataDir });
    const opts = { taskId: '01TASKC', repo: repoOf(fx), branch: 'bgagent/01taskc/y' };
    const ws = await manager.prepare(opts);
    writeFileSync(join(ws.path, 'done.txt'), 'done\n');
    await manager.commitAll(ws, { message: 'work', authorName: 'a', authorEmail: 'a@a' });
    await manager.push(ws, { cloneUrl: fx.url });
    await manager.remove(ws);
    expect(existsSync(ws.path)).toBe(false);

    const resumed = await manager.prepare(opts);
    expect(resumed.baseSha).toBe(ws.baseSha);
    expect(readFileSync(join(resumed.path, 'done.txt'), 'utf8')).toBe('done\n');
    expect(await manager.hasChanges(resumed)).toBe(true);
  });

  it('refuses a default branch that does not exist, an unsafe task id and an invalid branch name', async () => {
    fx = createRemoteFixture(1);
    const manager = new WorkspaceManager({ dataDir: fx.dataDir });
    await expect(manager.prepare({ taskId: 'T1', repo: { ...repoOf(fx), defaultBranch: 'trunk' }, branch: 'b' })).rejects.toThrow(
      'the default branch "trunk" does not exist in acme/demo',
    );
    await expect(manager.prepare({ taskId: '../escape', repo: repoOf(fx), branch: 'b' })).rejects.toThrow(/invalid task id/);
    await expect(manager.prepare({ taskId: 'T2', repo: repoOf(fx), branch: 'bad..name' })).rejects.toThrow(/invalid branch name/);
    expect(existsSync(join(fx.dataDir, 'workspaces', 'T1'))).toBe(false);
  });
});

describe('slugify', () => {
  it('makes short, lowercase, branch-safe slugs that are never empty', () => {
    expect(slugify('Fix the Login bug: users can’t sign in!')).toBe('fix-the-login-bug-users-can-t-sign-in');
    expect(slugify('x'.repeat(100))).toHaveLength(40);
    expect(slugify('!!! ???')).toBe('task');
    expect(taskBranchName('01ABC', 'Add README')).toBe('bgagent/01abc/add-readme');
  });
});
