import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from './databases.js';

export function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@t', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@t' },
  }).trim();
}

/** A bare repository with one commit on `main`, to act as a project's remote. Returns its path and file:// URL. */
export function createBareRemote(files: Record<string, string> = { 'README.md': '# demo\n' }): { path: string; url: string } {
  const root = tempDir('bgagent-remote-');
  const work = join(root, 'work');
  const bare = join(root, 'remote.git');
  mkdirSync(work);
  git(root, 'init', '-q', '-b', 'main', work);
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(join(work, name, '..'), { recursive: true });
    writeFileSync(join(work, name), content);
  }
  git(work, 'add', '-A');
  git(work, 'commit', '-q', '-m', 'initial');
  git(root, 'clone', '-q', '--bare', work, bare);
  return { path: bare, url: `file://${bare}` };
}

/** The branches of a bare repository. */
export function branchesOf(bare: string): string[] {
  const out = git(bare, 'for-each-ref', '--format=%(refname:short)', 'refs/heads');
  return out ? out.split('\n') : [];
}
