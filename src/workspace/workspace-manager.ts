import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { lstat, mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { silentLogger, type Logger } from '../log.js';
import { writeAgentFile } from './agent-files.js';
import { diskBytes } from './disk-usage.js';
import { withFileLock } from '../credentials/file-lock.js';
import { cloneUrlProblem } from './clone-url.js';
import { GitError, runGit, scrubSecrets, type GitAuth } from './git.js';

export interface RepoRemote {
  name: string;
  cloneUrl: string;
}

export interface PrepareOptions {
  taskId: string;
  repo: RepoRemote & { defaultBranch: string };
  branch: string;
  auth?: GitAuth;
}

/** A task's checkout: its own clone (objects shared read-only with the repo's mirror) on the task branch. */
export interface Workspace {
  path: string;
  branch: string;
  /** The commit the branch started from; commits beyond it are the task's changes. */
  baseSha: string;
  /** The repository's mirror whose objects the workspace borrows (the platform's record, never the workspace's alternates). */
  mirror: string;
}

export interface CommitOptions {
  message: string;
  authorName: string;
  authorEmail: string;
}

/** What the platform keeps about a workspace, outside it (the agent can write everything inside). */
interface WorkspaceRecord {
  branch: string;
  baseSha: string;
  mirror: string;
  cloneUrl: string;
}

const TASK_ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/;
const OUTGOING = 'refs/bgagent/outgoing/';

// A first clone of a large repository can take minutes; the holder keeps its lock fresh meanwhile.
const MIRROR_LOCK = { timeoutMs: 10 * 60_000 };

/**
 * Git for tasks: a bare mirror per repository in `<dataDir>/mirrors`, refreshed with `git fetch`, and a
 * workspace per task in `<dataDir>/workspaces/<taskId>` cloned from it with `--shared` (no object copy).
 *
 * A clone rather than a `git worktree`: a worktree's git dir, config and refs live in the mirror, so the
 * agent could rewrite other tasks' branches and the sandbox would have to expose the mirror writable.
 * The clone's only link to the mirror is a read-only alternates entry.
 *
 * The agent controls its workspace's `.git`, so before the platform runs git there (outside the sandbox)
 * it refuses a `.git` holding anything but files and directories (a link could lead git to another
 * repository's refs or objects), rewrites `.git/config` (filters, fsmonitor, includes, URL rewrites could
 * run code or redirect the push) and the alternates from its record, and every command runs with hooks
 * off. Pushes go from the mirror, whose config is the platform's, and only of commits on top of the base.
 */
export class WorkspaceManager {
  private readonly dataDir: string;
  private readonly logger: Logger;
  private readonly refreshing = new Map<string, Promise<string>>();

  constructor(opts: { dataDir: string; logger?: Logger }) {
    this.dataDir = opts.dataDir;
    this.logger = opts.logger ?? silentLogger;
  }

  mirrorPath(repoName: string): string {
    const readable = repoName.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^[.-]+/, '').slice(0, 80) || 'repo';
    const hash = createHash('sha256').update(repoName).digest('hex').slice(0, 10);
    return join(this.dataDir, 'mirrors', `${readable}-${hash}.git`);
  }

  /** Creates or refreshes the repository's mirror. Concurrent calls share one fetch; a lock file guards other processes. */
  ensureMirror(repo: RepoRemote, auth?: GitAuth): Promise<string> {
    // Stored URLs may predate the route's check: refuse here too, before git sees one.
    const problem = cloneUrlProblem(repo.cloneUrl, { dataDir: this.dataDir });
    if (problem) return Promise.reject(new Error(`refused the clone URL of ${repo.name}: ${problem}`));
    const dir = this.mirrorPath(repo.name);
    const running = this.refreshing.get(dir);
    if (running) return running;
    const refresh = this.refreshMirror(dir, repo, auth).finally(() => this.refreshing.delete(dir));
    this.refreshing.set(dir, refresh);
    return refresh;
  }

  private async refreshMirror(dir: string, repo: RepoRemote, auth?: GitAuth): Promise<string> {
    await mkdir(join(this.dataDir, 'mirrors'), { recursive: true });
    return withFileLock(`${dir}.lock`, async () => {
      const started = Date.now();
      if (existsSync(join(dir, 'HEAD'))) {
        await fetchInto(dir, repo.cloneUrl, auth);
        this.logger.debug({ repo: repo.name, ms: Date.now() - started }, 'mirror refreshed');
        return dir;
      }
      // Built aside and renamed into place, so a failed first fetch leaves no half mirror behind.
      const tmp = `${dir}.tmp-${randomBytes(4).toString('hex')}`;
      try {
        await runGit(['init', '--quiet', '--bare', '--', tmp]);
        // Task clones borrow the mirror's objects: never let an automatic gc prune one they still use.
        await runGit(['config', 'gc.auto', '0'], { cwd: tmp });
        await fetchInto(tmp, repo.cloneUrl, auth);
        await rename(tmp, dir);
      } finally {
        await rm(tmp, { recursive: true, force: true });
      }
      this.logger.info({ repo: repo.name, ms: Date.now() - started }, 'mirror created');
      return dir;
    }, MIRROR_LOCK);
  }

  /** A fresh workspace on a new branch from the default branch; the existing one when the task resumes. */
  async prepare(opts: PrepareOptions): Promise<Workspace> {
    if (!TASK_ID.test(opts.taskId)) throw new Error(`invalid task id for a workspace: ${JSON.stringify(opts.taskId)}`);
    await runGit(['check-ref-format', '--branch', opts.branch]).catch(() => {
      throw new Error(`invalid branch name: ${JSON.stringify(opts.branch)}`);
    });
    const mirror = await this.ensureMirror(opts.repo, opts.auth);
    const path = this.workspacePath(opts.taskId);
    const existing = await this.readRecord(path);
    if (existing && existing.branch === opts.branch && existsSync(join(path, '.git'))) {
      this.logger.info({ taskId: opts.taskId, path }, 'reusing the existing workspace');
      return { path, branch: existing.branch, baseSha: existing.baseSha, mirror: existing.mirror };
    }
    await rm(path, { recursive: true, force: true });
    await mkdir(join(this.dataDir, 'workspaces'), { recursive: true });

    const tmp = join(this.dataDir, 'workspaces', `.${opts.taskId}.tmp-${randomBytes(4).toString('hex')}`);
    try {
      await runGit(['clone', '--quiet', '--shared', '--no-checkout', '--', mirror, tmp]);
      const defaultRef = `refs/remotes/origin/${opts.repo.defaultBranch}`;
      const defaultSha = await runGit(['rev-parse', '--verify', '--quiet', `${defaultRef}^{commit}`], { cwd: tmp }).catch(() => {
        throw new Error(`the default branch "${opts.repo.defaultBranch}" does not exist in ${opts.repo.name}`);
      });
      // The branch is on the remote already when an earlier attempt pushed it: continue from there.
      const pushedRef = `refs/remotes/origin/${opts.branch}`;
      const pushedSha = await runGit(['rev-parse', '--verify', '--quiet', `${pushedRef}^{commit}`], { cwd: tmp }).catch(() => '');
      const baseSha = pushedSha ? await runGit(['merge-base', pushedSha, defaultSha], { cwd: tmp }) : defaultSha;
      await runGit(['checkout', '--quiet', '--no-track', '-b', opts.branch, pushedSha || defaultSha], { cwd: tmp });
      const record: WorkspaceRecord = { branch: opts.branch, baseSha, mirror, cloneUrl: opts.repo.cloneUrl };
      writeGitConfig(tmp, record);
      await rename(tmp, path);
      await writeFile(this.recordPath(path), `${JSON.stringify(record)}\n`);
      this.logger.info({ taskId: opts.taskId, branch: opts.branch, baseSha }, 'workspace ready');
      return { path, branch: opts.branch, baseSha, mirror };
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  }

  /** Commits whatever the agent left uncommitted on the current branch; a no-op when the tree is clean. */
  async commitAll(ws: Workspace, opts: CommitOptions): Promise<{ committed: boolean; sha: string }> {
    await this.secure(ws);
    await runGit(['add', '--all'], { cwd: ws.path });
    const staged = await runGit(['diff', '--cached', '--no-ext-diff', '--name-only', '-z'], { cwd: ws.path });
    if (staged) {
      const identity = {
        GIT_AUTHOR_NAME: opts.authorName,
        GIT_AUTHOR_EMAIL: opts.authorEmail,
        GIT_COMMITTER_NAME: opts.authorName,
        GIT_COMMITTER_EMAIL: opts.authorEmail,
      };
      await runGit(['commit', '--quiet', '--no-verify', '--no-gpg-sign', '-m', opts.message], { cwd: ws.path, env: identity });
    }
    const sha = await runGit(['rev-parse', 'HEAD'], { cwd: ws.path });
    return { committed: staged.length > 0, sha };
  }

  /** Whether the task branch has any commit beyond the one it started from. */
  async hasChanges(ws: Workspace): Promise<boolean> {
    const record = await this.secure(ws);
    const count = await runGit(['rev-list', '--count', `${record.baseSha}..refs/heads/${ws.branch}`], { cwd: ws.path });
    return Number.parseInt(count, 10) > 0;
  }

  /**
   * Pushes the task branch to the repository's remote. The lease is the branch as last seen in the
   * mirror (absent: it must not exist yet), so a resumed task may push again but never overwrites
   * commits someone else pushed to the branch.
   */
  async push(ws: Workspace, opts: { cloneUrl: string; auth?: GitAuth }): Promise<void> {
    const record = await this.secure(ws);
    const mirror = record.mirror;
    const branchRef = `refs/heads/${ws.branch}`;
    const outgoing = `${OUTGOING}${ws.branch}`;
    await runGit(['fetch', '--quiet', '--no-tags', '--no-write-fetch-head', '--', ws.path, `+${branchRef}:${outgoing}`], { cwd: mirror });
    const sha = await runGit(['rev-parse', outgoing], { cwd: mirror });
    // Checked in the mirror, whose history the agent cannot touch: a branch reset to a commit of any other
    // history the workspace could reach is never pushed.
    const descends = await runGit(['merge-base', '--is-ancestor', record.baseSha, sha], { cwd: mirror }).then(
      () => true,
      (err: unknown) => {
        if (err instanceof GitError && err.exitCode === 1) return false;
        throw err;
      },
    );
    if (!descends) {
      await runGit(['update-ref', '-d', outgoing], { cwd: mirror });
      throw new Error(`refused to push ${ws.branch}: its commit ${sha} does not descend from the task's base ${record.baseSha}`);
    }
    const expected = await runGit(['rev-parse', '--verify', '--quiet', branchRef], { cwd: mirror }).catch(() => '');
    await runGit(['push', '--quiet', `--force-with-lease=${branchRef}:${expected}`, '--', opts.cloneUrl, `${outgoing}:${branchRef}`], {
      cwd: mirror,
      auth: opts.auth,
    });
    await runGit(['update-ref', branchRef, sha], { cwd: mirror });
    await runGit(['update-ref', '-d', outgoing], { cwd: mirror });
    this.logger.info({ branch: ws.branch, sha, remote: scrubSecrets(opts.cloneUrl, opts.auth) }, 'branch pushed');
  }

  /** Deletes the workspace. */
  async remove(ws: Workspace): Promise<void> {
    const record = await this.readRecord(ws.path);
    if (record && existsSync(record.mirror)) {
      await runGit(['update-ref', '-d', `${OUTGOING}${ws.branch}`], { cwd: record.mirror }).catch(() => undefined);
    }
    await rm(ws.path, { recursive: true, force: true });
    await rm(this.recordPath(ws.path), { force: true });
  }

  private workspacePath(taskId: string): string {
    return join(this.dataDir, 'workspaces', taskId);
  }

  private recordPath(path: string): string {
    return `${path}.json`;
  }

  private async readRecord(path: string): Promise<WorkspaceRecord | undefined> {
    try {
      return JSON.parse(await readFile(this.recordPath(path), 'utf8')) as WorkspaceRecord;
    } catch {
      return undefined;
    }
  }

  /** Puts the workspace's git dir back into a state the platform can run git in safely. */
  private async secure(ws: Workspace): Promise<WorkspaceRecord> {
    const record = await this.readRecord(ws.path);
    if (!record || record.branch !== ws.branch) throw new Error(`no workspace for branch ${ws.branch} at ${ws.path}`);
    const gitDir = join(ws.path, '.git');
    const st = await lstat(gitDir).catch(() => undefined);
    if (!st?.isDirectory()) throw new Error(`the workspace's .git is no longer a directory: ${ws.path}`);
    await refuseSpecialFiles(gitDir);
    await rm(join(gitDir, 'commondir'), { force: true });
    writeGitConfig(ws.path, record);
    writeAgentFile(ws.path, '.git/objects/info/alternates', `${resolve(record.mirror, 'objects')}\n`);
    return record;
  }

  /** Bytes on disk under the workspaces and under the mirrors. */
  async diskUsage(): Promise<{ workspaces: number; mirrors: number }> {
    const [workspaces, mirrors] = await Promise.all([diskBytes(join(this.dataDir, 'workspaces')), diskBytes(join(this.dataDir, 'mirrors'))]);
    return { workspaces, mirrors };
  }

  /** The tasks that have anything under workspaces/: a workspace, its record, or a clone left half-built. */
  async taskIdsOnDisk(): Promise<string[]> {
    const names = await readdir(join(this.dataDir, 'workspaces')).catch(() => [] as string[]);
    return [...new Set(names.flatMap((name) => taskIdOf(name) ?? []))];
  }

  /** Deletes everything the task has under workspaces/ (a no-op when it has nothing). */
  async removeTask(taskId: string): Promise<void> {
    if (!TASK_ID.test(taskId)) throw new Error(`invalid task id for a workspace: ${JSON.stringify(taskId)}`);
    const path = this.workspacePath(taskId);
    const record = await this.readRecord(path);
    if (record) await this.remove({ path, ...record });
    else await rm(path, { recursive: true, force: true });
    const dir = join(this.dataDir, 'workspaces');
    for (const name of await readdir(dir).catch(() => [] as string[])) {
      if (name.startsWith(`.${taskId}.tmp-`)) await rm(join(dir, name), { recursive: true, force: true });
    }
  }
}

/** Throws when anything under `dir` is neither a regular file nor a directory (a link, a FIFO, a socket). */
async function refuseSpecialFiles(dir: string, under = ''): Promise<void> {
  for (const entry of await readdir(join(dir, under), { withFileTypes: true })) {
    const path = under ? `${under}/${entry.name}` : entry.name;
    if (entry.isDirectory()) await refuseSpecialFiles(dir, path);
    else if (!entry.isFile()) throw new Error(`the workspace's .git holds a ${entry.isSymbolicLink() ? 'symbolic link' : 'special file'}: ${path}`);
  }
}

/** The task a name under workspaces/ belongs to: `<id>`, `<id>.json` or `.<id>.tmp-<hex>`. */
function taskIdOf(name: string): string | undefined {
  const id = /^\.(.+)\.tmp-[0-9a-f]+$/.exec(name)?.[1] ?? name.replace(/\.json$/, '');
  return TASK_ID.test(id) ? id : undefined;
}

function fetchInto(dir: string, url: string, auth?: GitAuth): Promise<string> {
  return runGit(['fetch', '--quiet', '--prune', '--no-write-fetch-head', '--', url, '+refs/heads/*:refs/heads/*', '+refs/tags/*:refs/tags/*'], {
    cwd: dir,
    auth,
  });
}

/** The workspace's whole git config: its remote without credentials, nothing the agent may have added. */
function writeGitConfig(workspace: string, record: WorkspaceRecord): void {
  const url = scrubUserinfo(record.cloneUrl);
  const quoted = `"${url.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
  const config = [
    '[core]',
    '\trepositoryformatversion = 0',
    '\tfilemode = true',
    '\tbare = false',
    '\tlogallrefupdates = true',
    '[remote "origin"]',
    `\turl = ${quoted}`,
    '\tfetch = +refs/heads/*:refs/remotes/origin/*',
    '',
  ].join('\n');
  writeAgentFile(workspace, '.git/config', config);
}

function scrubUserinfo(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/@]+@/i, '$1');
}
