import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { accessSync, constants, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { silentLogger, type Logger } from '../log.js';
import type { SandboxMode } from './sandbox.js';

/**
 * The one place agent processes are started and reaped. Each agent runs in a process group of its own,
 * recorded under `<dataDir>/agent-processes/` until the group is gone, so a server that died without
 * stopping its agents has them killed when the next one starts (`reapOrphanedAgents`).
 *
 * What ends an agent with the server: under bwrap, its `--die-with-parent`, and the agent's own PID
 * namespace takes everything in it along. Unconfined (BGAGENT_SANDBOX=none), `setpriv --pdeathsig KILL`
 * kills the agent's first process when the server dies; the rest of its process group, and whatever of
 * its tree was still linked to a live parent, is killed by the start-up reaper. Not caught unconfined: a
 * process that left the group (setsid/setpgid) and whose parent exited before the kill, since nothing
 * then ties it to the agent (a PID namespace is what catches those, and only bwrap gives one).
 */

export interface AgentSpawn {
  /** Already wrapped by the sandbox (wrapCommand). */
  argv: string[];
  cwd: string;
  env: Record<string, string>;
  taskId: string;
  /** The sandbox the argv runs in: `none` is prefixed with setpriv's parent-death signal. */
  sandbox: SandboxMode;
}

/** After SIGKILL, how long to wait for the tree to be gone before leaving it to the start-up reaper. */
const KILL_WAIT_MS = 5000;
const POLL_MS = 20;
const RECORDS_DIR = 'agent-processes';

interface GroupRecord {
  pid: number;
  startTime: number;
  taskId: string;
  /** The server that started the group: a live one's agents are its own (a data dir may be shared). */
  server: { pid: number; startTime: number };
}

export class AgentProcesses {
  private readonly records: string | undefined;
  private readonly logger: Logger;

  /** Without a data dir nothing is recorded (an agent run outside a server, as in tests). */
  constructor(opts: { dataDir?: string; logger?: Logger } = {}) {
    this.records = opts.dataDir ? join(opts.dataDir, RECORDS_DIR) : undefined;
    this.logger = opts.logger ?? silentLogger;
  }

  /** Starts the agent in a process group of its own; throws when an unconfined agent cannot get a parent-death signal. */
  spawn(spec: AgentSpawn): AgentGroup {
    const argv = spec.sandbox === 'none' ? [setprivPath(), '--pdeathsig', 'KILL', '--', ...spec.argv] : spec.argv;
    const child = spawn(argv[0]!, argv.slice(1), { cwd: spec.cwd, env: spec.env, stdio: ['pipe', 'pipe', 'pipe'], detached: true });
    const log = this.logger.child({ taskId: spec.taskId });
    const startTime = child.pid === undefined ? undefined : startTimeOf(child.pid);
    if (child.pid === undefined || startTime === undefined) return new AgentGroup(child, undefined, undefined, log);
    let record: string | undefined;
    if (this.records) {
      record = join(this.records, String(child.pid));
      const entry: GroupRecord = { pid: child.pid, startTime, taskId: spec.taskId, server: { pid: process.pid, startTime: startTimeOf(process.pid)! } };
      try {
        mkdirSync(this.records, { recursive: true, mode: 0o700 });
        writeFileSync(record, JSON.stringify(entry), { mode: 0o600 });
      } catch (err) {
        // Unrecorded, a killed server's agent would never be reaped.
        trySignal(-child.pid, 'SIGKILL');
        throw err;
      }
    }
    return new AgentGroup(child, startTime, record, log);
  }
}

/** An agent's process group and the tree under it, from its first process. */
export class AgentGroup {
  /** Every process seen in the tree (pid to start time): its parent may die before it does. */
  private readonly known = new Map<number, number>();

  constructor(
    readonly child: ChildProcessWithoutNullStreams,
    private readonly startTime: number | undefined,
    private readonly record: string | undefined,
    private readonly logger: Logger,
  ) {}

  /** Signals every process of the tree and the groups they lead (the leader gets `leader` when given); false when none is left. */
  signal(signal: NodeJS.Signals | number, opts: { leader?: NodeJS.Signals } = {}): boolean {
    const pgid = this.child.pid;
    const tree = this.scan();
    for (const p of tree) trySignal(p.pid, p.pid === pgid ? (opts.leader ?? signal) : signal);
    for (const p of tree) if (p.pid !== pgid) trySignal(-p.pid, signal);
    // The whole group at once too, for what a fork added since the scan.
    if (!opts.leader && tree.some((p) => p.pgid === pgid)) trySignal(-pgid!, signal);
    return tree.length > 0;
  }

  /**
   * SIGTERM the tree, SIGKILL what is left after the grace period (at once when it is 0), then wait until the
   * tree is really gone; its record goes with it, or stays for the start-up reaper when something outlived the wait.
   */
  async stop(graceMs: number): Promise<void> {
    if (graceMs > 0 && this.signal('SIGTERM')) await this.waitGone(graceMs);
    this.signal('SIGKILL');
    if (!(await this.waitGone(KILL_WAIT_MS, 'SIGKILL'))) {
      this.logger.error({ pgid: this.child.pid, pids: this.scan().map((p) => p.pid) }, 'agent processes outlived SIGKILL');
    } else if (this.record) rmSync(this.record, { force: true });
  }

  /** Polls until no process of the tree is left; with a signal, sends it to what a fork created meanwhile. */
  private async waitGone(ms: number, resend?: NodeJS.Signals): Promise<boolean> {
    const deadline = Date.now() + ms;
    while (this.scan().length > 0) {
      if (Date.now() >= deadline) return false;
      await new Promise((r) => setTimeout(r, POLL_MS));
      if (resend) this.signal(resend);
    }
    return true;
  }

  /** The live (not zombie) processes of the tree: the group, what descends from it or from a process seen in it. */
  private scan(): ProcessInfo[] {
    const pgid = this.child.pid;
    if (pgid === undefined) return [];
    // kill(-pgid, 0) is the cheap answer while a member is alive; the table says whether it is a zombie.
    if (!trySignal(-pgid, 0) && this.known.size === 0) return [];
    const table = processTable();
    // A reused leader pid means the group id is someone else's now (it is not reused while the group has members).
    const leader = table.get(pgid);
    const groupIsOurs = !leader || leader.startTime === this.startTime;
    const roots = [...table.values()].filter((p) => (groupIsOurs && p.pgid === pgid) || this.known.get(p.pid) === p.startTime);
    const tree = treeFrom(table, roots);
    for (const p of tree) this.known.set(p.pid, p.startTime);
    return tree.filter((p) => !p.zombie);
  }
}

/**
 * Kills every recorded agent group whose server is gone and removes its record; run at start-up, before any
 * agent starts. A group counts as the agent's when its leader is alive with the recorded start time, or the
 * leader is gone and the group has members: a pid is not reused while a group of that id has members.
 */
export async function reapOrphanedAgents(dataDir: string, logger: Logger = silentLogger): Promise<void> {
  const dir = join(dataDir, RECORDS_DIR);
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  const table = processTable();
  const waits: Promise<void>[] = [];
  for (const name of names) {
    const path = join(dir, name);
    const rec = readRecord(path, name);
    if (!rec) {
      rmSync(path, { force: true });
      continue;
    }
    const server = table.get(rec.server.pid);
    if (server && !server.zombie && server.startTime === rec.server.startTime) continue;
    const leader = table.get(rec.pid);
    const members = [...table.values()].filter((p) => p.pgid === rec.pid && !p.zombie);
    const ours = leader ? leader.startTime === rec.startTime : members.length > 0;
    if (!ours || members.length === 0) {
      rmSync(path, { force: true });
      continue;
    }
    const pids = treeFrom(table, members).filter((p) => !p.zombie).map((p) => p.pid);
    logger.warn({ taskId: rec.taskId, pgid: rec.pid, pids }, 'killing the processes of an agent a previous server left running');
    for (const pid of pids) trySignal(pid, 'SIGKILL');
    trySignal(-rec.pid, 'SIGKILL');
    waits.push(
      waitUntil(() => !pids.some((pid) => alive(pid)), KILL_WAIT_MS).then((gone) => {
        if (gone) rmSync(path, { force: true });
        else logger.error({ taskId: rec.taskId, pgid: rec.pid }, 'an orphaned agent process outlived SIGKILL');
      }),
    );
  }
  await Promise.all(waits);
}

/** setpriv (util-linux) from the server's PATH: without it an unconfined agent would outlive a killed server. */
export function setprivPath(): string {
  for (const dir of (process.env.PATH ?? '/usr/bin:/bin').split(delimiter)) {
    const path = join(dir, 'setpriv');
    try {
      accessSync(path, constants.X_OK);
      return path;
    } catch {
      // not here
    }
  }
  throw new Error('setpriv (util-linux) is not on PATH: an agent without a sandbox needs it so that it dies with the server; install util-linux');
}

function readRecord(path: string, name: string): GroupRecord | undefined {
  try {
    const rec = JSON.parse(readFileSync(path, 'utf8')) as GroupRecord;
    const ints = [rec.pid, rec.startTime, rec.server?.pid, rec.server?.startTime];
    if (!ints.every((n) => Number.isSafeInteger(n)) || rec.pid <= 1 || String(rec.pid) !== name) return undefined;
    return rec;
  } catch {
    return undefined;
  }
}

interface ProcessInfo {
  pid: number;
  ppid: number;
  pgid: number;
  startTime: number;
  zombie: boolean;
}

/** Every process, from /proc/<pid>/stat. */
function processTable(): Map<number, ProcessInfo> {
  const table = new Map<number, ProcessInfo>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const info = readStat(Number(entry));
    if (info) table.set(info.pid, info);
  }
  return table;
}

function readStat(pid: number): ProcessInfo | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // pid (comm) state ppid pgrp ...: comm may hold spaces and parentheses, so fields are read after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const state = fields[0];
  return { pid, ppid: Number(fields[1]), pgid: Number(fields[2]), startTime: Number(fields[19]), zombie: state === 'Z' || state === 'X' };
}

/** Field 22 of /proc/<pid>/stat, in clock ticks since boot: with the pid, it names one process. */
function startTimeOf(pid: number): number | undefined {
  return readStat(pid)?.startTime;
}

function alive(pid: number): boolean {
  const info = readStat(pid);
  return info !== undefined && !info.zombie;
}

/** The roots and all their descendants. */
function treeFrom(table: Map<number, ProcessInfo>, roots: ProcessInfo[]): ProcessInfo[] {
  const children = new Map<number, ProcessInfo[]>();
  for (const p of table.values()) {
    const list = children.get(p.ppid) ?? [];
    list.push(p);
    children.set(p.ppid, list);
  }
  const seen = new Map<number, ProcessInfo>();
  const queue = [...roots];
  while (queue.length) {
    const p = queue.shift()!;
    if (seen.has(p.pid)) continue;
    seen.set(p.pid, p);
    queue.push(...(children.get(p.pid) ?? []));
  }
  return [...seen.values()];
}

function trySignal(target: number, signal: NodeJS.Signals | number): boolean {
  try {
    process.kill(target, signal);
    return true;
  } catch {
    return false;
  }
}

async function waitUntil(done: () => boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!done()) {
    if (Date.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
  return true;
}
