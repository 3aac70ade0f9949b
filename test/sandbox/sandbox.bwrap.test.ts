import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CommandHarness } from '../../src/agent/index.js';
import { wrapCommand } from '../../src/sandbox/index.js';
import { WorkspaceManager, type Workspace } from '../../src/workspace/index.js';
import { createRemoteFixture, type RemoteFixture } from '../workspace/remote-fixture.js';
import { commandRun, isAlive } from '../agent/command-run.js';
import { sandboxSupport } from '../support/sandbox.js';

describe('wrapCommand', () => {
  it('leaves the command alone without a sandbox', () => {
    expect(wrapCommand(['/bin/sh', '-c', 'x'], { workspacePath: '/w', mode: 'none' })).toEqual(['/bin/sh', '-c', 'x']);
  });

  it('binds only system paths, the workspace, the mirror and the HOME, never / or the data dir', () => {
    const argv = wrapCommand(['/bin/sh', '-c', 'x'], { workspacePath: '/d/workspaces/1', mirrorPath: '/d/mirrors/m.git', mode: 'bwrap', home: '/nonexistent-home' });
    const joined = argv.join(' ');
    expect(joined).not.toMatch(/--(ro-)?bind \/ \//);
    expect(joined).toContain('--bind /d/workspaces/1 /d/workspaces/1');
    expect(joined).toContain('--tmpfs /nonexistent-home');
    for (const flag of ['--die-with-parent', '--new-session', '--unshare-pid']) expect(argv).toContain(flag);
    expect(argv.slice(-4)).toEqual(['--', '/bin/sh', '-c', 'x']);
  });
});

/** Canaries: values that must never be seen from inside the sandbox. */
const CANARY = {
  vault: 'CANARY-VAULT-7d1f',
  adminToken: 'CANARY-ADMIN-TOKEN-3a9c',
  home: 'CANARY-SERVER-HOME-b2e4',
  otherWorkspace: 'CANARY-OTHER-WORKSPACE-5c6d',
  env: 'CANARY-SERVER-ENV-91aa',
};

describe.skipIf(!sandboxSupport.available)('the command agent under bubblewrap, tried as an attacker', () => {
  let fx: RemoteFixture;
  let other: RemoteFixture;
  let manager: WorkspaceManager;
  let ws: Workspace;
  let otherWs: Workspace;
  let outside: string;
  let home: string;
  let homeCanary: string;
  const harness = () => new CommandHarness({ dataDir: fx.dataDir, sandbox: 'bwrap', killGraceMs: 300 });

  async function probe(script: string): Promise<string[]> {
    const input = commandRun(ws.path, script, { mirrorPath: ws.mirror, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home } });
    const result = await harness().run(input);
    expect(result.outcome, result.errorMessage).toBe('success');
    return input.events.map((e) => e.message);
  }

  beforeAll(async () => {
    process.env.BGAGENT_TEST_CANARY = CANARY.env;
    fx = createRemoteFixture(2);
    writeFileSync(join(fx.dataDir, 'vault.json'), `${CANARY.vault}\n`);
    writeFileSync(join(fx.dataDir, 'admin-token'), `${CANARY.adminToken}\n`);
    manager = new WorkspaceManager({ dataDir: fx.dataDir });
    ws = await manager.prepare({ taskId: '01SANDBOX', repo: { name: 'acme/demo', cloneUrl: fx.url, defaultBranch: 'main' }, branch: 'bgagent/01sandbox/x' });
    // Another task's workspace in the same data dir, on another repository.
    other = createRemoteFixture(1);
    otherWs = await manager.prepare({ taskId: '01OTHER', repo: { name: 'acme/other', cloneUrl: other.url, defaultBranch: 'main' }, branch: 'bgagent/01other/x' });
    writeFileSync(join(otherWs.path, 'secret.txt'), `${CANARY.otherWorkspace}\n`);
    // Outside /tmp (which the sandbox replaces), so a write there would really land on the host.
    outside = mkdtempSync('/var/tmp/bgagent-outside-');
    home = join(fx.root, 'agent-home');
    mkdirSync(home);
    homeCanary = join(homedir(), `.bgagent-sandbox-canary-${process.pid}`);
    writeFileSync(homeCanary, `${CANARY.home}\n`, { mode: 0o600 });
  });
  afterAll(() => {
    fx?.cleanup();
    other?.cleanup();
    if (outside) rmSync(outside, { recursive: true, force: true });
    if (homeCanary) rmSync(homeCanary, { force: true });
    delete process.env.BGAGENT_TEST_CANARY;
  });

  it('lets the agent work and commit in the workspace, with its own mirror objects readable', async () => {
    const out = await probe(
      [
        'echo work > made-in-sandbox.txt',
        'git add -A && git -c user.name=a -c user.email=a@a commit -q -m "sandboxed commit" && echo committed',
        'git log --oneline | wc -l',
        'echo h > "$HOME/dotfile" && echo home-writable',
        'cat "$BGAGENT_TASK_FILE" | head -1',
      ].join('\n'),
    );
    expect(out).toEqual(expect.arrayContaining(['committed', '3', 'home-writable', 'Fix the bug']));
    expect(readFileSync(join(ws.path, 'made-in-sandbox.txt'), 'utf8')).toBe('work\n');
    expect(readFileSync(join(home, 'dotfile'), 'utf8')).toBe('h\n');
  });

  it('cannot read the data dir, the admin token, the vault, another workspace or mirror, or the server user\'s HOME', async () => {
    const out = await probe(
      [
        `cat ${fx.dataDir}/vault.json ${fx.dataDir}/admin-token 2>/dev/null || echo data-dir-hidden`,
        `echo "mirrors=$(ls ${join(fx.dataDir, 'mirrors')} 2>/dev/null | wc -l)"`,
        `cat ${otherWs.path}/secret.txt 2>/dev/null || echo other-workspace-hidden`,
        `ls ${otherWs.mirror} 2>/dev/null || echo other-mirror-hidden`,
        `cat ${homeCanary} 2>/dev/null || echo server-home-hidden`,
        `echo "server-home=$(ls -A ${homedir()} 2>/dev/null | wc -l)"`,
        'cat /etc/shadow 2>/dev/null || echo shadow-hidden',
        'echo "var-run-root=$(ls -A /var /run /root 2>/dev/null | wc -l)"',
        'cat /proc/1/environ /proc/$PPID/environ 2>/dev/null | tr "\\0" "\\n"',
        'echo "pids=$(ls /proc | grep -c "^[0-9]")"',
        'grep NoNewPrivs /proc/self/status',
        'env',
      ].join('\n'),
    );
    const text = out.join('\n');
    for (const canary of Object.values(CANARY)) expect(text).not.toContain(canary);
    expect(out).toEqual(expect.arrayContaining(['data-dir-hidden', 'other-workspace-hidden', 'other-mirror-hidden', 'server-home-hidden', 'shadow-hidden']));
    // Only its own mirror is there; the server user's HOME, /var, /run, /root are not.
    expect(out).toEqual(expect.arrayContaining(['mirrors=1', 'server-home=0', 'var-run-root=0']));
    expect(text).toMatch(/NoNewPrivs:\s+1/);
    // Its own PID namespace: a handful of processes (bwrap's init, the shell, the probe), none of the host's.
    expect(Number(/pids=(\d+)/.exec(text)?.[1])).toBeLessThan(10);
  });

  it('cannot write outside its workspace and HOME', async () => {
    const out = await probe(
      [
        `echo x > ${outside}/escaped.txt 2>/dev/null || echo outside-refused`,
        `echo x > ${fx.dataDir}/planted 2>/dev/null; echo tried-data-dir`,
        `echo x > ${ws.mirror}/planted 2>/dev/null || echo mirror-read-only`,
        `echo x >> ${homeCanary} 2>/dev/null; echo tried-home`,
        'echo x > /usr/planted 2>/dev/null || echo usr-read-only',
      ].join('\n'),
    );
    expect(out).toEqual(expect.arrayContaining(['outside-refused', 'mirror-read-only', 'usr-read-only']));
    expect(existsSync(join(outside, 'escaped.txt'))).toBe(false);
    expect(existsSync(join(fx.dataDir, 'planted'))).toBe(false);
    expect(existsSync(join(ws.mirror, 'planted'))).toBe(false);
    expect(readFileSync(homeCanary, 'utf8')).toBe(`${CANARY.home}\n`);
  });

  it('gets no host path from alternates it plants: the next run still sees no data dir', async () => {
    const alternates = join(ws.path, '.git', 'objects', 'info', 'alternates');
    const before = readFileSync(alternates, 'utf8');
    try {
      writeFileSync(alternates, `${before.trim()}\n${fx.dataDir}\n${otherWs.mirror}/objects\n`);
      const out = await probe(`cat ${fx.dataDir}/vault.json 2>/dev/null || echo data-dir-hidden\nls ${otherWs.mirror} 2>/dev/null || echo other-mirror-hidden`);
      expect(out).toEqual(['data-dir-hidden', 'other-mirror-hidden']);
    } finally {
      writeFileSync(alternates, before);
    }
  });

  it('kills everything in the sandbox on cancel', async () => {
    const abort = new AbortController();
    const input = commandRun(ws.path, 'sleep 4242 & echo started; sleep 4242', { signal: abort.signal, env: { PATH: process.env.PATH ?? '/usr/bin:/bin' } });
    const running = harness().run(input);
    // Both sleeps have exec'd (the background one may still be a shell after 'started' is printed).
    let sleepers: number[] = [];
    for (let i = 0; i < 1000 && sleepers.length < 2; i++) {
      await new Promise((r) => setTimeout(r, 10));
      sleepers = sleepPids();
    }
    expect(sleepers.length).toBe(2);
    abort.abort();
    expect((await running).outcome).toBe('cancelled');
    expect(sleepers.filter(isAlive)).toEqual([]);
  });
});

/** The host pids of `sleep 4242` processes (the sandbox has its own PID namespace, so it cannot tell them). */
function sleepPids(): number[] {
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
