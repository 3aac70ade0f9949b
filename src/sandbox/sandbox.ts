import { execFile } from 'node:child_process';
import { existsSync, lstatSync, mkdtempSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import type { Logger } from '../log.js';

/** `bwrap`: bubblewrap around the agent; `none`: the agent runs as the platform's user, unconfined. */
export type SandboxMode = 'bwrap' | 'none';

export interface SandboxOptions {
  workspacePath: string;
  mode: SandboxMode;
  /** The task's repository mirror (from the platform's record): readable, for the objects the workspace borrows. */
  mirrorPath?: string;
  /**
   * The agent's HOME, a private directory the platform made for this run: bound writable, so what the agent
   * keeps there (Claude Code's conversation transcript) outlives the sandbox for a later run to resume.
   * Unset: an empty tmpfs.
   */
  home?: string;
  /** More paths the agent may read (the task file, the agent's own program). */
  readOnlyPaths?: string[];
}

/** The system's programs and libraries: the only host paths an agent sees besides its own. */
const SYSTEM_DIRS = ['/usr', '/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32', '/opt'];

/**
 * What of /etc a program needs to run, resolve names and speak TLS. Not the rest: /etc holds the host's
 * secrets (shadow, ssh host keys, an EnvironmentFile, /etc/bgagent), and the platform may run as root.
 */
const ETC_ENTRIES = [
  'alternatives', 'ca-certificates', 'ca-certificates.conf', 'ssl', 'pki', 'crypto-policies',
  'resolv.conf', 'hosts', 'host.conf', 'nsswitch.conf', 'gai.conf', 'services', 'protocols',
  'passwd', 'group', 'ld.so.cache', 'ld.so.conf', 'ld.so.conf.d', 'localtime', 'timezone',
  'mime.types', 'magic', 'os-release', 'debian_version', 'gitconfig', 'inputrc', 'terminfo', 'bash.bashrc', 'profile',
];

/** The HOME the agent sees when the platform gives it none of its own. */
const EMPTY_HOME = '/home/agent';

/**
 * The argv that runs `argv` in the sandbox. Under bwrap the agent sees: the system's programs and a few
 * files of /etc read-only; its workspace and its run's HOME writable; its task's mirror and the given
 * paths read-only; a private /tmp, /dev and /proc of its own PID namespace. Nothing else of the host
 * exists there: not the data dir, other workspaces or mirrors, the server user's HOME, /root, /var, /run.
 * No capability, no new privileges (bwrap sets PR_SET_NO_NEW_PRIVS), a new session (no TIOCSTI into the
 * server's terminal), and it dies with the process that started it. The network is the host's for now.
 */
export function wrapCommand(argv: string[], opts: SandboxOptions): string[] {
  if (opts.mode === 'none') return argv;
  const args = ['bwrap', '--die-with-parent', '--new-session', '--unshare-pid', '--unshare-ipc', '--unshare-uts', '--unshare-cgroup-try'];
  for (const dir of SYSTEM_DIRS) args.push(...systemPath(dir));
  for (const entry of ETC_ENTRIES) args.push(...systemPath(`/etc/${entry}`));
  args.push('--proc', '/proc', '--dev', '/dev', '--tmpfs', '/tmp');
  const home = opts.home ? resolve(opts.home) : EMPTY_HOME;
  args.push(...(opts.home && existsSync(home) ? ['--bind', home, home] : ['--tmpfs', home]));
  const workspace = resolve(opts.workspacePath);
  args.push('--bind', workspace, workspace);
  for (const path of [...(opts.mirrorPath ? [opts.mirrorPath] : []), ...(opts.readOnlyPaths ?? [])]) {
    const abs = resolve(path);
    if (existsSync(abs)) args.push('--ro-bind', abs, abs);
  }
  args.push('--chdir', workspace, '--', ...argv);
  return args;
}

/** A system path as it is on the host: a link (the merged-/usr `/bin -> usr/bin`) stays a link. */
function systemPath(path: string): string[] {
  const st = lstatSync(path, { throwIfNoEntry: false });
  if (!st) return [];
  if (st.isSymbolicLink()) return ['--symlink', readlinkSync(path), path];
  return ['--ro-bind', path, path];
}

export interface SandboxSupport {
  available: boolean;
  /** Why bwrap cannot be used, when it cannot. */
  reason?: string;
}

export const SANDBOX_INSTALL_HINT =
  'install bubblewrap (Debian/Ubuntu: apt-get install bubblewrap; Fedora/RHEL: dnf install bubblewrap) and allow ' +
  'unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1, or kernel.apparmor_restrict_unprivileged_userns=0 on Ubuntu 24.04), ' +
  'or set BGAGENT_SANDBOX=none to run agents unconfined';

let detected: Promise<SandboxSupport> | undefined;

/** Whether bwrap runs here with the very arguments an agent's sandbox uses (containers often forbid it). Tried once, cached. */
export function detectSandbox(): Promise<SandboxSupport> {
  detected ??= new Promise((done) => {
    const workspace = mkdtempSync(join(tmpdir(), 'bgagent-sandbox-probe-'));
    const [command, ...args] = wrapCommand(['/bin/sh', '-c', 'exit 0'], { workspacePath: workspace, mode: 'bwrap' });
    execFile(command!, args, { timeout: 10_000, env: { PATH: process.env.PATH ?? '/usr/bin:/bin' } }, (err, _stdout, stderr) => {
      rmSync(workspace, { recursive: true, force: true });
      if (!err) return done({ available: true });
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return done({ available: false, reason: 'bwrap (bubblewrap) is not installed or not on PATH' });
      done({ available: false, reason: `bwrap cannot run here: ${(stderr || err.message).trim()}` });
    });
  });
  return detected;
}

/** How agents run in this process: in bwrap, unconfined because the operator said so, or not at all. */
export type SandboxState = { mode: SandboxMode } | { mode: 'unavailable'; reason: string };

/**
 * Fails closed: unset or `bwrap` means bwrap, and without a working bwrap no agent runs. Only an explicit
 * `BGAGENT_SANDBOX=none` runs agents unconfined.
 */
export async function resolveSandbox(requested: SandboxMode | undefined): Promise<SandboxState> {
  if (requested === 'none') return { mode: 'none' };
  const support = await detectSandbox();
  if (support.available) return { mode: 'bwrap' };
  return { mode: 'unavailable', reason: `${support.reason}; ${SANDBOX_INSTALL_HINT}` };
}

/** The message of a task refused for want of a sandbox. */
export function sandboxUnavailableMessage(state: { reason: string }): string {
  return `no agent runs without a sandbox: ${state.reason}`;
}

/** The one WARN an unconfined run gets, every run: the operator chose it, and the log says so each time. */
export function warnUnconfined(logger: Logger, taskId: string): void {
  logger.warn({ taskId, sandbox: 'none' }, 'the agent runs WITHOUT a sandbox (BGAGENT_SANDBOX=none): it can read and write whatever the server user can');
}

/** The mode a harness built on its own runs with, or the error that refuses the run. */
export async function resolveSandboxMode(requested: SandboxMode | undefined): Promise<{ mode: SandboxMode } | { error: string }> {
  const state = await resolveSandbox(requested);
  return state.mode === 'unavailable' ? { error: sandboxUnavailableMessage(state) } : { mode: state.mode };
}

/** The directory of the agent's own program, for it to be readable inside the sandbox. */
export function programDir(command: string): string[] {
  return command.startsWith('/') ? [dirname(command)] : [];
}
