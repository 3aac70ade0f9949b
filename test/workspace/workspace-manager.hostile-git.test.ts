import { mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { WorkspaceManager } from '../../src/workspace/index.js';
import { createRemoteFixture, git, type RemoteFixture } from './remote-fixture.js';

// The agent wrote everything in its workspace's .git; these tests plant what an attacker would.

const fixtures: RemoteFixture[] = [];
afterEach(() => {
  for (const fx of fixtures.splice(0)) fx.cleanup();
});

const AUTHOR = { message: 'bgagent: leftovers', authorName: 'bgagent', authorEmail: 'bgagent@example.com' };
const CANARY = 'CANARY-ADMIN-TOKEN-77b1d0\n';

/** A task's workspace on acme/demo, and the mirror of another (private) repository on the same platform. */
async function attacked() {
  const fx = createRemoteFixture();
  const other = createRemoteFixture(1);
  fixtures.push(fx, other);
  const manager = new WorkspaceManager({ dataDir: fx.dataDir });
  const ws = await manager.prepare({ taskId: '01TASK', repo: { name: 'acme/demo', cloneUrl: fx.url, defaultBranch: 'main' }, branch: 'bgagent/01task/change' });
  const privateSha = other.commit('private.txt', 'CANARY-PRIVATE-REPO\n');
  const otherMirror = await manager.ensureMirror({ name: 'acme/private', cloneUrl: other.url });
  const gitDir = join(ws.path, '.git');
  const pushes = () => manager.push(ws, { cloneUrl: fx.url });
  return { fx, manager, ws, gitDir, otherMirror, privateSha, pushes };
}

/** Whether a repository holds the commit. */
function holds(repo: string, sha: string): boolean {
  try {
    git(repo, 'cat-file', '-e', `${sha}^{commit}`);
    return true;
  } catch {
    return false;
  }
}

describe('WorkspaceManager against a hostile .git', () => {
  it('never writes through a .git/config that is a link to a file outside', async () => {
    const { fx, manager, ws, gitDir, pushes } = await attacked();
    const outside = join(fx.root, 'admin-token');
    writeFileSync(outside, CANARY);
    rmSync(join(gitDir, 'config'));
    symlinkSync(outside, join(gitDir, 'config'));
    writeFileSync(join(ws.path, 'x.txt'), 'x\n');

    await expect(manager.commitAll(ws, AUTHOR)).rejects.toThrow("the workspace's .git holds a symbolic link: config");
    await expect(manager.hasChanges(ws)).rejects.toThrow(/symbolic link: config/);
    await expect(pushes()).rejects.toThrow(/symbolic link: config/);
    expect(readFileSync(outside, 'utf8')).toBe(CANARY);
  });

  it('refuses a hooks directory that is a link', async () => {
    const { fx, manager, ws, gitDir } = await attacked();
    const hooks = join(fx.root, 'elsewhere-hooks');
    mkdirSync(hooks);
    rmSync(join(gitDir, 'hooks'), { recursive: true, force: true });
    symlinkSync(hooks, join(gitDir, 'hooks'));
    writeFileSync(join(ws.path, 'x.txt'), 'x\n');

    await expect(manager.commitAll(ws, AUTHOR)).rejects.toThrow("the workspace's .git holds a symbolic link: hooks");
  });

  it("refuses a branch ref that is a link to another repository's ref", async () => {
    const { fx, ws, gitDir, otherMirror, privateSha, pushes } = await attacked();
    const ref = join(gitDir, 'refs', 'heads', ...ws.branch.split('/'));
    rmSync(ref);
    symlinkSync(join(otherMirror, 'refs', 'heads', 'main'), ref);

    await expect(pushes()).rejects.toThrow(`the workspace's .git holds a symbolic link: refs/heads/${ws.branch}`);
    expect(holds(fx.bare, privateSha)).toBe(false);
  });

  it('refuses a HEAD or packed-refs that is a link into another repository', async () => {
    const { manager, ws, gitDir, otherMirror, pushes } = await attacked();
    writeFileSync(join(ws.path, 'x.txt'), 'x\n');
    rmSync(join(gitDir, 'HEAD'));
    symlinkSync(join(otherMirror, 'HEAD'), join(gitDir, 'HEAD'));
    await expect(manager.commitAll(ws, AUTHOR)).rejects.toThrow("the workspace's .git holds a symbolic link: HEAD");

    rmSync(join(gitDir, 'HEAD'));
    writeFileSync(join(gitDir, 'HEAD'), `ref: refs/heads/${ws.branch}\n`);
    git(otherMirror, 'pack-refs', '--all');
    rmSync(join(gitDir, 'packed-refs'), { force: true });
    symlinkSync(join(otherMirror, 'packed-refs'), join(gitDir, 'packed-refs'));
    await expect(pushes()).rejects.toThrow("the workspace's .git holds a symbolic link: packed-refs");
  });

  it("rewrites alternates that borrow another mirror's objects, so they never reach the push", async () => {
    const { fx, ws, gitDir, otherMirror, privateSha, pushes } = await attacked();
    const alternates = join(gitDir, 'objects', 'info', 'alternates');
    writeFileSync(alternates, `${join(otherMirror, 'objects')}\n`);
    git(ws.path, 'update-ref', `refs/heads/${ws.branch}`, privateSha);

    // The workspace no longer reaches the commit it claims its branch is on.
    await expect(pushes()).rejects.toThrow(/not our ref|bad object|missing/);
    expect(readFileSync(alternates, 'utf8')).toBe(`${join(ws.mirror, 'objects')}\n`);
    expect(holds(ws.mirror, privateSha)).toBe(false);
    expect(holds(fx.bare, privateSha)).toBe(false);
  });

  it('refuses to push a branch reset to a commit that does not descend from the base', async () => {
    const { fx, ws, pushes } = await attacked();
    git(ws.path, 'checkout', '-q', '--orphan', 'unrelated');
    writeFileSync(join(ws.path, 'x.txt'), 'x\n');
    git(ws.path, 'add', '-A');
    git(ws.path, 'commit', '-q', '-m', 'unrelated history');
    const orphan = git(ws.path, 'rev-parse', 'HEAD');
    git(ws.path, 'update-ref', `refs/heads/${ws.branch}`, orphan);

    await expect(pushes()).rejects.toThrow(`refused to push ${ws.branch}: its commit ${orphan} does not descend from the task's base ${ws.baseSha}`);
    expect(holds(fx.bare, orphan)).toBe(false);
    expect(git(ws.mirror, 'for-each-ref', 'refs/bgagent')).toBe('');
  });
});
