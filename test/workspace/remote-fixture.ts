import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { git } from '../support/git-repos.js';

// Synchronous git, as a person would run it: never against a server in this process (that would deadlock).
export { git };

/** A bare "remote" with a few commits on `main`, a clone to add more, and a data dir for the manager. */
export interface RemoteFixture {
  root: string;
  bare: string;
  url: string;
  dataDir: string;
  /** Commits a file on the remote's `main` (through a separate clone) and returns the new sha. */
  commit(file: string, content: string): string;
  cleanup(): void;
}

export function createRemoteFixture(commits = 3): RemoteFixture {
  const root = mkdtempSync(join(tmpdir(), 'bgagent-ws-test-'));
  const bare = join(root, 'remotes', 'demo.git');
  const work = join(root, 'upstream-work');
  const dataDir = join(root, 'data');
  mkdirSync(dataDir);
  git(root, 'init', '-q', '--bare', '-b', 'main', bare);
  git(root, 'init', '-q', '-b', 'main', work);
  git(work, 'remote', 'add', 'origin', bare);
  const commit = (file: string, content: string): string => {
    mkdirSync(join(work, file, '..'), { recursive: true });
    writeFileSync(join(work, file), content);
    git(work, 'add', '-A');
    git(work, 'commit', '-q', '-m', `update ${file}`);
    git(work, 'push', '-q', 'origin', 'HEAD:refs/heads/main');
    return git(work, 'rev-parse', 'HEAD');
  };
  for (let i = 1; i <= commits; i++) commit(i === 1 ? 'README.md' : `src/file${i}.txt`, `content ${i}\n`);
  return { root, bare, url: `file://${bare}`, dataDir, commit, cleanup: () => rmSync(root, { recursive: true, force: true }) };
}
