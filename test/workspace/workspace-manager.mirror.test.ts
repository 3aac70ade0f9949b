import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { WorkspaceManager } from '../../src/workspace/index.js';
import { withFileLock } from '../../src/credentials/file-lock.js';
import { startGitHttpServer } from '../support/git-http-server.js';
import { createRemoteFixture, git, type RemoteFixture } from './remote-fixture.js';

let fx: RemoteFixture;
afterEach(() => fx?.cleanup());

describe('WorkspaceManager.ensureMirror', () => {
  it('creates a bare mirror once and refreshes it with new and deleted branches after', async () => {
    fx = createRemoteFixture();
    const manager = new WorkspaceManager({ dataDir: fx.dataDir });
    const repo = { name: 'acme/demo', cloneUrl: fx.url };

    const dir = await manager.ensureMirror(repo);
    expect(dir.startsWith(join(fx.dataDir, 'mirrors'))).toBe(true);
    expect(git(dir, 'rev-parse', '--is-bare-repository')).toBe('true');
    expect(git(dir, 'rev-parse', 'refs/heads/main')).toBe(git(fx.bare, 'rev-parse', 'main'));

    git(fx.bare, 'branch', 'feature', 'main');
    const newSha = fx.commit('later.txt', 'later\n');
    expect(await manager.ensureMirror(repo)).toBe(dir);
    expect(git(dir, 'rev-parse', 'refs/heads/main')).toBe(newSha);
    expect(git(dir, 'for-each-ref', '--format=%(refname)', 'refs/heads')).toContain('refs/heads/feature');

    git(fx.bare, 'branch', '-D', 'feature');
    await manager.ensureMirror(repo);
    expect(git(dir, 'for-each-ref', '--format=%(refname)', 'refs/heads')).not.toContain('refs/heads/feature');
    // No remote URL is stored: each fetch names it, so a URL with credentials never lands in the config.
    expect(readFileSync(join(dir, 'config'), 'utf8')).not.toContain(fx.bare);
  });

  it('leaves no mirror behind when the first fetch fails, and says which command failed', async () => {
    fx = createRemoteFixture();
    const manager = new WorkspaceManager({ dataDir: fx.dataDir });
    const repo = { name: 'acme/missing', cloneUrl: `file://${fx.root}/nowhere.git` };
    await expect(manager.ensureMirror(repo)).rejects.toThrow(/git fetch .* failed/);
    expect(existsSync(manager.mirrorPath(repo.name))).toBe(false);
  });

  it('shares one fetch among concurrent callers for the same repository', async () => {
    fx = createRemoteFixture();
    const server = await startGitHttpServer({ root: join(fx.root, 'remotes'), token: 'tok-123' });
    try {
      const manager = new WorkspaceManager({ dataDir: fx.dataDir });
      const repo = { name: 'acme/demo', cloneUrl: `${server.url}/demo.git` };
      const auth = { token: 'tok-123' };
      const dirs = await Promise.all([manager.ensureMirror(repo, auth), manager.ensureMirror(repo, auth), manager.ensureMirror(repo, auth)]);
      expect(new Set(dirs).size).toBe(1);
      const advertisements = server.requests.filter((r) => r.path.endsWith('/info/refs') && r.authorized);
      expect(advertisements).toHaveLength(1);
    } finally {
      await server.close();
    }
  });
});

describe('withFileLock', () => {
  it('runs holders one at a time and takes over a lock left by a dead process', async () => {
    fx = createRemoteFixture(1);
    const lock = join(fx.dataDir, 'x.lock');
    const trace: string[] = [];
    const holder = (name: string) =>
      withFileLock(lock, async () => {
        trace.push(`${name}:in`);
        await new Promise((r) => setTimeout(r, 30));
        trace.push(`${name}:out`);
      });
    await Promise.all([holder('a'), holder('b')]);
    expect([trace.slice(0, 2), trace.slice(2)].every(([i, o]) => i!.split(':')[0] === o!.split(':')[0])).toBe(true);
    expect(existsSync(lock)).toBe(false);

    writeFileSync(lock, '2147483646\n'); // a pid that does not exist
    await expect(withFileLock(lock, async () => 'ran', { timeoutMs: 2000 })).resolves.toBe('ran');
  });
});
