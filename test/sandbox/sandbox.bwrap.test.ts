import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CommandHarness } from '../../src/agent/index.js';
import { detectSandbox, wrapCommand } from '../../src/sandbox/index.js';
import { WorkspaceManager, type Workspace } from '../../src/workspace/index.js';
import { createRemoteFixture, type RemoteFixture } from '../workspace/remote-fixture.js';
import { commandRun, isAlive } from '../agent/command-run.js';

const support = await detectSandbox();
if (!support.available) console.warn(`bubblewrap sandbox tests skipped: ${support.reason}`);

describe('wrapCommand', () => {
  it('leaves the command alone without a sandbox and hides the data dir under bwrap', () => {
    expect(wrapCommand(['/bin/sh', '-c', 'x'], { workspacePath: '/w', dataDir: '/d', mode: 'none' })).toEqual(['/bin/sh', '-c', 'x']);
    const argv = wrapCommand(['/bin/sh', '-c', 'x'], { workspacePath: '/d/ws/1', dataDir: '/d', mode: 'bwrap', home: '/h' }).join(' ');
    expect(argv).toMatch(/^bwrap --ro-bind \/ \/ .*--tmpfs \/d --tmpfs \/h --bind \/d\/ws\/1 \/d\/ws\/1 .*--chdir \/d\/ws\/1 -- \/bin\/sh -c x$/);
  });
});

describe.skipIf(!support.available)('the command harness under bubblewrap', () => {
  let fx: RemoteFixture;
  let ws: Workspace;
  let outside: string;
  let home: string;
  const harness = () => new CommandHarness({ dataDir: fx.dataDir, sandbox: 'bwrap', killGraceMs: 300 });

  beforeAll(async () => {
    fx = createRemoteFixture(2);
    writeFileSync(join(fx.dataDir, 'vault.json'), 'SECRET-IN-DATA-DIR\n');
    ws = await new WorkspaceManager({ dataDir: fx.dataDir }).prepare({
      taskId: '01SANDBOX',
      repo: { name: 'acme/demo', cloneUrl: fx.url, defaultBranch: 'main' },
      branch: 'bgagent/01sandbox/x',
    });
    // Outside /tmp (which the sandbox replaces), so a write there would really land on the host.
    outside = mkdtempSync('/var/tmp/bgagent-outside-');
    home = join(fx.root, 'agent-home');
    mkdirSync(home);
  });
  afterAll(() => {
    fx?.cleanup();
    if (outside) rmSync(outside, { recursive: true, force: true });
  });

  it('lets the agent work and commit in the workspace, and nowhere else', async () => {
    const script = [
      'echo work > made-in-sandbox.txt',
      'git add -A && git -c user.name=a -c user.email=a@a commit -q -m "sandboxed commit" && echo committed',
      `cat ${fx.dataDir}/vault.json 2>/dev/null || echo data-dir-hidden`,
      `echo x > ${outside}/escaped.txt 2>/dev/null || echo outside-read-only`,
      'echo h > "$HOME/dotfile" && echo home-writable',
      'cat "$BGAGENT_TASK_FILE" | head -1',
    ].join('\n');
    const input = commandRun(ws.path, script, { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home } });
    const result = await harness().run(input);
    const out = input.events.map((e) => e.message);
    expect(result.outcome).toBe('success');
    expect(out).toEqual(expect.arrayContaining(['committed', 'data-dir-hidden', 'outside-read-only', 'home-writable', 'Fix the bug']));
    expect(out.join('\n')).not.toContain('SECRET-IN-DATA-DIR');
    expect(readFileSync(join(ws.path, 'made-in-sandbox.txt'), 'utf8')).toBe('work\n');
    expect(existsSync(join(outside, 'escaped.txt'))).toBe(false);
    // The run's own HOME is bound writable (the runner makes one per run and removes it), so what the agent
    // keeps there, such as Claude Code's transcript, outlives the sandbox for the next run to resume.
    expect(readFileSync(join(home, 'dotfile'), 'utf8')).toBe('h\n');
  });

  it('kills everything in the sandbox on cancel', async () => {
    const abort = new AbortController();
    const input = commandRun(ws.path, 'sleep 4242 & echo started; sleep 4242', { signal: abort.signal, env: { PATH: process.env.PATH ?? '/usr/bin:/bin' } });
    const running = harness().run(input);
    for (let i = 0; i < 500 && !input.events.some((e) => e.message === 'started'); i++) await new Promise((r) => setTimeout(r, 10));
    const sleepers = await sleepPids();
    expect(sleepers.length).toBeGreaterThan(0);
    abort.abort();
    expect((await running).outcome).toBe('cancelled');
    expect(sleepers.filter(isAlive)).toEqual([]);
  });
});

/** The host pids of `sleep 4242` processes (the sandbox has its own PID namespace, so it cannot tell them). */
async function sleepPids(): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8') === 'sleep\u00004242\u0000') pids.push(Number(entry));
    } catch {
      // gone
    }
  }
  return pids;
}
