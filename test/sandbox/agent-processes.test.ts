import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CommandHarness } from '../../src/agent/index.js';
import { reapOrphanedAgents, type SandboxMode } from '../../src/sandbox/index.js';
import { commandRun, isAlive } from '../agent/command-run.js';
import { spawnServe } from '../support/cli.js';
import { sandboxSupport } from '../support/sandbox.js';

/** The built stand-in server (npm test builds dist first; support/cli.js checks it is there). */
const AGENT_SERVER = fileURLToPath(new URL('./agent-server.mjs', import.meta.url));

let dir: string;
let ws: string;
let dataDir: string;
/** A number no other process has on its command line: every process of the attack carries it. */
let marker: string;
const children: ChildProcess[] = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'bgagent-agent-processes-'));
  ws = join(dir, 'ws');
  dataDir = join(dir, 'data');
  mkdirSync(ws);
  marker = String(400_000 + Math.floor(Math.random() * 500_000));
  // Ignores SIGTERM and keeps forking: only SIGKILL ends it.
  writeFileSync(join(ws, 'stubborn.sh'), "trap '' TERM\nwhile :; do sleep 0.05; done\n");
});
afterEach(() => {
  for (const pid of pidsWith(marker)) process.kill(pid, 'SIGKILL');
  for (const child of children.splice(0)) child.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

const harness = (sandbox: SandboxMode) => new CommandHarness({ dataDir, sandbox, killGraceMs: 300 });

/**
 * Forks a child that ignores SIGTERM, and one whose own child calls setsid (leaving the process group) and
 * ignores SIGTERM too; the agent itself ignores SIGTERM. `doubleFork` adds an escapee whose parent exits at
 * once, so nothing but a PID namespace still ties it to the agent.
 */
function attack(doubleFork: boolean): { command: string; stubborn: number } {
  const lines = [
    "trap '' TERM",
    `sh ./stubborn.sh ${marker} &`,
    `sh -c 'setsid sh ./stubborn.sh "$0" & wait' ${marker} &`,
    ...(doubleFork ? [`(setsid sh ./stubborn.sh ${marker} &)`] : []),
    `sh ./stubborn.sh ${marker}`,
  ];
  return { command: lines.join('\n'), stubborn: doubleFork ? 4 : 3 };
}

describe('an agent that resists being stopped', () => {
  it('unconfined: a timed-out tree is gone when the run returns, a setsid child of a live parent included', async () => {
    const { command, stubborn } = attack(false);
    const running = harness('none').run(commandRun(ws, command, { timeoutMs: 1500 }));
    const pids = await settle(`./stubborn.sh\0${marker}`, stubborn);
    expect((await running).outcome).toBe('timed_out');
    expect(pids.filter(isAlive)).toEqual([]);
    expect(pidsWith(marker)).toEqual([]);
    expect(records()).toEqual([]);
  });

  it('unconfined: a cancelled tree is gone when the run returns', async () => {
    const { command, stubborn } = attack(false);
    const abort = new AbortController();
    const running = harness('none').run(commandRun(ws, command, { signal: abort.signal }));
    const pids = await settle(`./stubborn.sh\0${marker}`, stubborn);
    abort.abort();
    expect((await running).outcome).toBe('cancelled');
    expect(pids.filter(isAlive)).toEqual([]);
    expect(pidsWith(marker)).toEqual([]);
    expect(records()).toEqual([]);
  });

  it('unconfined: refuses to run without setpriv rather than run an agent that would outlive the server', async () => {
    const input = commandRun(ws, 'touch ran');
    const path = process.env.PATH;
    process.env.PATH = join(dir, 'no-bin');
    try {
      const result = await harness('none').run(input);
      expect(result.outcome).toBe('failed');
      expect(result.errorMessage).toContain('setpriv (util-linux) is not on PATH');
    } finally {
      process.env.PATH = path;
    }
    expect(readdirSync(ws)).not.toContain('ran');
  });

  describe.skipIf(!sandboxSupport.available)('under bwrap', () => {
    for (const stop of ['timed_out', 'cancelled'] as const) {
      it(`${stop}: the PID namespace catches a setsid escapee whose parent is gone`, async () => {
        const { command, stubborn } = attack(true);
        const abort = new AbortController();
        const input = commandRun(ws, command, { signal: abort.signal, timeoutMs: stop === 'timed_out' ? 2000 : 60_000, env: { PATH: '/usr/bin:/bin', HOME: ws } });
        const running = harness('bwrap').run(input);
        const pids = await settle(`./stubborn.sh\0${marker}`, stubborn);
        if (stop === 'cancelled') abort.abort();
        expect((await running).outcome).toBe(stop);
        expect(pids.filter(isAlive)).toEqual([]);
        expect(pidsWith(marker)).toEqual([]);
        expect(records()).toEqual([]);
      });
    }
  });
});

describe('an agent whose server is killed -9', () => {
  const linger = () => [`sleep ${marker} &`, `sh -c 'setsid sleep "$0" & wait' ${marker} &`, `sleep ${marker}`];

  function startServer(sandbox: SandboxMode, command: string): ChildProcess {
    const child = spawn(process.execPath, [AGENT_SERVER, dataDir, sandbox, ws, command], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    return child;
  }

  it('unconfined: its first process dies with the server, and the next server kills the rest of its tree at start-up', async () => {
    const server = startServer('none', linger().join('\n'));
    const pids = await settle(`sleep\0${marker}\0`, 3);
    const [record] = records();
    expect(record).toBeDefined();
    const leader = Number(record);
    expect(isAlive(leader)).toBe(true);

    server.kill('SIGKILL');
    await until(() => !isAlive(leader), 'the parent-death signal to kill the agent');
    // The agent's forks are not its first process: they outlive the server until a reaper finds them.
    const survivors = pids.filter(isAlive);
    expect(survivors.length).toBeGreaterThanOrEqual(3);

    const next = await spawnServe({ BGAGENT_DATA_DIR: dataDir, BGAGENT_SANDBOX: 'none', BGAGENT_LOG_LEVEL: 'warn' });
    children.push(next.child);
    // The reaper runs before the server listens.
    expect(survivors.filter(isAlive)).toEqual([]);
    expect(pidsWith(marker)).toEqual([]);
    expect(records()).toEqual([]);
    expect(next.output()).toContain('killing the processes of an agent a previous server left running');
  });

  it.skipIf(!sandboxSupport.available)('under bwrap: everything in the sandbox dies with the server, a setsid escapee included', async () => {
    const server = startServer('bwrap', [`(setsid sleep ${marker} &)`, ...linger()].join('\n'));
    const pids = await settle(`sleep\0${marker}\0`, 4);
    expect(records()).toHaveLength(1);
    server.kill('SIGKILL');
    await until(() => pids.every((pid) => !isAlive(pid)), 'the sandbox to die with its server');
    expect(pidsWith(marker)).toEqual([]);
    // Nothing is left to kill; the record of the gone group is dropped.
    await reapOrphanedAgents(dataDir);
    expect(records()).toEqual([]);
  });
});

describe('the start-up reaper', () => {
  it('leaves alone the agents of a server still running (a data dir may be shared)', async () => {
    const abort = new AbortController();
    const running = harness('none').run(commandRun(ws, `sleep ${marker}`, { signal: abort.signal }));
    const pids = await settle(`sleep\0${marker}\0`, 1);
    await reapOrphanedAgents(dataDir);
    expect(pids.filter(isAlive)).toEqual(pids);
    expect(records()).toHaveLength(1);
    abort.abort();
    expect((await running).outcome).toBe('cancelled');
  });

  it('does not kill a process that took a recorded pid, and drops the record', async () => {
    const other = spawn('sleep', [marker], { detached: true, stdio: 'ignore' });
    children.push(other);
    const pid = other.pid!;
    mkdirSync(join(dataDir, 'agent-processes'), { recursive: true });
    // A dead server's record naming this pid with another start time: the pid was reused.
    const startTime = Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[19]);
    const server = { pid: 2 ** 31 - 1, startTime: 1 };
    writeFileSync(join(dataDir, 'agent-processes', String(pid)), JSON.stringify({ pid, startTime: startTime - 1, taskId: 't', server }));
    await reapOrphanedAgents(dataDir);
    expect(isAlive(pid)).toBe(true);
    expect(records()).toEqual([]);
  });
});

function records(): string[] {
  try {
    return readdirSync(join(dataDir, 'agent-processes'));
  } catch {
    return [];
  }
}

/** Live processes whose command line holds `text`, by host pid (a sandbox's own pids mean nothing here). */
function pidsWith(text: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(text) && isAlive(Number(entry))) pids.push(Number(entry));
    } catch {
      // gone
    }
  }
  return pids;
}

/** Waits until `count` processes run `text`, then returns every process of the attack. */
async function settle(text: string, count: number): Promise<number[]> {
  await until(() => pidsWith(text).length >= count, `${count} processes running ${JSON.stringify(text)}`);
  return pidsWith(marker);
}

async function until(done: () => boolean, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
