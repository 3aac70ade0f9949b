import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CommandHarness } from '../../src/agent/index.js';
import { commandRun, isAlive, waitForFile } from './command-run.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'bgagent-cmd-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const harness = () => new CommandHarness({ dataDir: join(dir, 'data'), sandbox: 'none', killGraceMs: 300 });
/** Starts a grandchild in the background, records its pid, and then waits forever itself. */
const LINGER = 'sleep 1000 & echo $! > grandchild.pid; echo started; sleep 1000';

describe('CommandHarness stopping the process tree', () => {
  it('times out and kills the whole process group, grandchildren included', async () => {
    const input = commandRun(dir, LINGER, { timeoutMs: 600 });
    const result = await harness().run(input);
    expect(result.outcome).toBe('timed_out');
    expect(result.errorMessage).toContain('time limit');
    const grandchild = Number(await waitForFile(join(dir, 'grandchild.pid')));
    expect(isAlive(grandchild)).toBe(false);
    expect(input.events.map((e) => e.message)).toContain('started');
  });

  it('is cancelled through its signal and kills the whole process group', async () => {
    const abort = new AbortController();
    const input = commandRun(dir, LINGER, { signal: abort.signal });
    const running = harness().run(input);
    const grandchild = Number(await waitForFile(join(dir, 'grandchild.pid')));
    expect(isAlive(grandchild)).toBe(true);
    abort.abort();
    expect((await running).outcome).toBe('cancelled');
    expect(isAlive(grandchild)).toBe(false);
  });

  it('kills a command that ignores SIGTERM after the grace period', async () => {
    const abort = new AbortController();
    const input = commandRun(dir, "trap '' TERM; echo $$ > self.pid; while :; do sleep 0.05; done", { signal: abort.signal });
    const running = harness().run(input);
    const pid = Number(await waitForFile(join(dir, 'self.pid')));
    abort.abort();
    expect((await running).outcome).toBe('cancelled');
    expect(isAlive(pid)).toBe(false);
  });

  it('ends what a successful command left running in the background', async () => {
    const input = commandRun(dir, 'sleep 1000 & echo $! > grandchild.pid; echo done');
    expect((await harness().run(input)).outcome).toBe('success');
    const grandchild = Number(await waitForFile(join(dir, 'grandchild.pid')));
    // SIGKILL is sent before run() returns; the kernel may take a moment to finish the process off.
    for (let i = 0; i < 100 && isAlive(grandchild); i++) await new Promise((r) => setTimeout(r, 20));
    expect(isAlive(grandchild)).toBe(false);
  });

  it('returns cancelled at once when the signal is already aborted', async () => {
    const abort = new AbortController();
    abort.abort();
    const input = commandRun(dir, 'touch ran', { signal: abort.signal });
    expect((await harness().run(input)).outcome).toBe('cancelled');
  });
});
