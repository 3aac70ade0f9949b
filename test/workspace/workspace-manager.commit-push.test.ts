import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { WorkspaceManager } from '../../src/workspace/index.js';
import { createRemoteFixture, git, type RemoteFixture } from './remote-fixture.js';

let fx: RemoteFixture;
afterEach(() => fx?.cleanup());

const AUTHOR = { message: 'bgagent: leftovers', authorName: 'bgagent', authorEmail: 'bgagent@example.com' };

async function prepared(taskId = '01TASK') {
  fx = createRemoteFixture();
  const manager = new WorkspaceManager({ dataDir: fx.dataDir });
  const ws = await manager.prepare({ taskId, repo: { name: 'acme/demo', cloneUrl: fx.url, defaultBranch: 'main' }, branch: `bgagent/${taskId.toLowerCase()}/change` });
  return { manager, ws };
}

describe('WorkspaceManager.commitAll and hasChanges', () => {
  it('does nothing on a clean tree and commits new, changed and deleted files on a dirty one', async () => {
    const { manager, ws } = await prepared();
    expect(await manager.commitAll(ws, AUTHOR)).toEqual({ committed: false, sha: ws.baseSha });
    expect(await manager.hasChanges(ws)).toBe(false);

    writeFileSync(join(ws.path, 'README.md'), 'changed\n');
    writeFileSync(join(ws.path, 'added.txt'), 'added\n');
    git(ws.path, 'rm', '-q', 'src/file2.txt');
    const result = await manager.commitAll(ws, AUTHOR);
    expect(result.committed).toBe(true);
    expect(result.sha).toBe(git(ws.path, 'rev-parse', 'HEAD'));
    expect(git(ws.path, 'log', '-1', '--format=%an <%ae>|%s')).toBe('bgagent <bgagent@example.com>|bgagent: leftovers');
    expect(git(ws.path, 'show', '--name-status', '--format=', 'HEAD').split('\n').sort()).toEqual(['A\tadded.txt', 'D\tsrc/file2.txt', 'M\tREADME.md']);
    expect(git(ws.path, 'status', '--porcelain')).toBe('');
    expect(await manager.hasChanges(ws)).toBe(true);
  });

  it('counts commits the agent made itself as changes', async () => {
    const { manager, ws } = await prepared();
    writeFileSync(join(ws.path, 'a.txt'), 'a\n');
    git(ws.path, 'add', '-A');
    git(ws.path, 'commit', '-q', '-m', 'by the agent');
    expect((await manager.commitAll(ws, AUTHOR)).committed).toBe(false);
    expect(await manager.hasChanges(ws)).toBe(true);
  });

  it('ignores hooks and git config the agent planted in the workspace', async () => {
    const { manager, ws } = await prepared();
    const marker = join(fx.root, 'hook-ran');
    mkdirSync(join(ws.path, '.git', 'hooks'), { recursive: true });
    for (const hook of ['pre-commit', 'commit-msg', 'post-commit', 'pre-push']) {
      writeFileSync(join(ws.path, '.git', 'hooks', hook), `#!/bin/sh\ntouch ${marker}\n`);
      chmodSync(join(ws.path, '.git', 'hooks', hook), 0o755);
    }
    git(ws.path, 'config', 'filter.evil.clean', `sh -c 'touch ${marker}; cat'`);
    git(ws.path, 'config', 'core.fsmonitor', `touch ${marker}; echo`);
    // A rewrite that would send the push (and a token) somewhere else.
    git(ws.path, 'config', `url.file://${fx.root}/elsewhere.git.insteadOf`, fx.url);
    writeFileSync(join(ws.path, '.gitattributes'), '* filter=evil\n');
    writeFileSync(join(ws.path, 'x.txt'), 'x\n');

    expect((await manager.commitAll(ws, AUTHOR)).committed).toBe(true);
    await manager.push(ws, { cloneUrl: fx.url });
    expect(existsSync(marker)).toBe(false);
    expect(git(fx.bare, 'rev-parse', `refs/heads/${ws.branch}`)).toBe(git(ws.path, 'rev-parse', 'HEAD'));
  });
});

describe('WorkspaceManager.push', () => {
  it('pushes the branch over file://, again after more work, and again unchanged (a resume)', async () => {
    const { manager, ws } = await prepared();
    writeFileSync(join(ws.path, 'one.txt'), '1\n');
    const first = await manager.commitAll(ws, AUTHOR);
    await manager.push(ws, { cloneUrl: fx.url });
    expect(git(fx.bare, 'rev-parse', `refs/heads/${ws.branch}`)).toBe(first.sha);

    writeFileSync(join(ws.path, 'two.txt'), '2\n');
    const second = await manager.commitAll(ws, AUTHOR);
    await manager.push(ws, { cloneUrl: fx.url });
    await new WorkspaceManager({ dataDir: fx.dataDir }).push(ws, { cloneUrl: fx.url });
    expect(git(fx.bare, 'rev-parse', `refs/heads/${ws.branch}`)).toBe(second.sha);
    expect(git(fx.bare, 'rev-parse', 'main')).toBe(ws.baseSha);
  });

  it('pushes rewritten history of its own branch but never overwrites commits someone else pushed to it', async () => {
    const { manager, ws } = await prepared();
    writeFileSync(join(ws.path, 'one.txt'), '1\n');
    await manager.commitAll(ws, AUTHOR);
    await manager.push(ws, { cloneUrl: fx.url });
    git(ws.path, 'commit', '-q', '--amend', '-m', 'amended by the agent');
    await manager.push(ws, { cloneUrl: fx.url });
    expect(git(fx.bare, 'log', '-1', '--format=%s', `refs/heads/${ws.branch}`)).toBe('amended by the agent');

    // A person pushes to the task branch; the platform's next push must not discard that commit.
    const other = join(fx.root, 'person');
    git(fx.root, 'clone', '-q', '--branch', ws.branch, fx.bare, other);
    writeFileSync(join(other, 'review.txt'), 'fix\n');
    git(other, 'add', '-A');
    git(other, 'commit', '-q', '-m', 'review fix');
    git(other, 'push', '-q', 'origin', ws.branch);
    const theirs = git(other, 'rev-parse', 'HEAD');
    writeFileSync(join(ws.path, 'three.txt'), '3\n');
    await manager.commitAll(ws, AUTHOR);
    await expect(manager.push(ws, { cloneUrl: fx.url })).rejects.toThrow(/stale info|rejected/);
    expect(git(fx.bare, 'rev-parse', `refs/heads/${ws.branch}`)).toBe(theirs);
  });

  it('removes the workspace', async () => {
    const { manager, ws } = await prepared();
    await manager.remove(ws);
    expect(existsSync(ws.path)).toBe(false);
    await expect(manager.remove(ws)).resolves.toBeUndefined();
  });
});
