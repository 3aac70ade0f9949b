import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { silentLogger, type Logger } from '../log.js';

/** `bwrap`: bubblewrap around the agent; `none`: the agent runs as the platform's user, unconfined. */
export type SandboxMode = 'bwrap' | 'none';

export interface SandboxOptions {
  workspacePath: string;
  /** The platform's data dir (database, vault, tokens, mirrors): hidden from the agent. */
  dataDir: string;
  mode: SandboxMode;
  /**
   * The agent's HOME, a private directory made for this run: bound writable, so what the agent keeps
   * there (Claude Code's conversation transcript) outlives the sandbox for a later run to resume.
   */
  home?: string;
  /** More paths the agent may read (e.g. the task file). */
  readOnlyPaths?: string[];
}

/**
 * The argv that runs `argv` in the sandbox. Under bwrap: the file system read-only, the workspace
 * and the run's own HOME writable, a private /tmp, the data dir replaced by an empty tmpfs, its own PID namespace
 * (everything dies with it), the network shared. The workspace's borrowed git objects (the repo's
 * mirror, inside the data dir) stay readable so git works in the workspace.
 */
export function wrapCommand(argv: string[], opts: SandboxOptions): string[] {
  if (opts.mode === 'none') return argv;
  const workspace = resolve(opts.workspacePath);
  const args = ['bwrap', '--ro-bind', '/', '/', '--dev', '/dev', '--proc', '/proc', '--tmpfs', '/tmp'];
  args.push('--tmpfs', resolve(opts.dataDir));
  if (opts.home) {
    const home = resolve(opts.home);
    args.push(...(existsSync(home) ? ['--bind', home, home] : ['--tmpfs', home]));
  }
  args.push('--bind', workspace, workspace);
  for (const path of [...borrowedObjectDirs(workspace), ...(opts.readOnlyPaths ?? [])]) {
    if (existsSync(path)) args.push('--ro-bind', path, path);
  }
  args.push('--unshare-pid', '--die-with-parent', '--chdir', workspace, '--', ...argv);
  return args;
}

/** The object directories a `git clone --shared` workspace reads through `.git/objects/info/alternates`. */
function borrowedObjectDirs(workspace: string): string[] {
  const objects = join(workspace, '.git', 'objects');
  try {
    return readFileSync(join(objects, 'info', 'alternates'), 'utf8')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'))
      .map((l) => (isAbsolute(l) ? l : resolve(objects, l)));
  } catch {
    return [];
  }
}

export interface SandboxSupport {
  available: boolean;
  /** Why bwrap cannot be used, when it cannot. */
  reason?: string;
}

let detected: Promise<SandboxSupport> | undefined;

/** Whether `bwrap` is on PATH and can create its namespaces here (containers often forbid it). Cached. */
export function detectSandbox(): Promise<SandboxSupport> {
  detected ??= new Promise((done) => {
    const probe = ['--ro-bind', '/', '/', '--dev', '/dev', '--proc', '/proc', '--unshare-pid', '--die-with-parent', 'true'];
    execFile('bwrap', probe, { timeout: 10_000 }, (err, _stdout, stderr) => {
      if (!err) return done({ available: true });
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return done({ available: false, reason: 'bwrap (bubblewrap) is not installed or not on PATH' });
      done({ available: false, reason: `bwrap cannot run here: ${(stderr || err.message).trim()}` });
    });
  });
  return detected;
}

let warnedUnconfined = false;

/**
 * The mode a run uses: an explicit `bwrap` must work (else an error to report); unset means bwrap when it
 * works, otherwise none with one WARN per process.
 */
export async function resolveSandboxMode(
  requested: SandboxMode | undefined,
  logger: Logger = silentLogger,
): Promise<{ mode: SandboxMode } | { error: string }> {
  if (requested === 'none') return { mode: 'none' };
  const support = await detectSandbox();
  if (support.available) return { mode: 'bwrap' };
  if (requested === 'bwrap') return { error: `BGAGENT_SANDBOX=bwrap, but ${support.reason}` };
  if (!warnedUnconfined) {
    warnedUnconfined = true;
    logger.warn({ reason: support.reason }, 'agents run without a sandbox: install bubblewrap, or set BGAGENT_SANDBOX=none to silence this');
  }
  return { mode: 'none' };
}
