import type { ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { runCli, spawnServe } from '../support/cli.js';
import { waitFor } from '../support/server.js';
import { createRemoteFixture, type RemoteFixture } from '../workspace/remote-fixture.js';

/**
 * `bgagent serve` as the README runs it, on a machine without bubblewrap: a PATH that has git, sh and the
 * rest of what a task needs, but no bwrap.
 */
describe('without a working sandbox', () => {
  let fx: RemoteFixture;
  let bin: string;
  let child: ChildProcess | undefined;

  beforeAll(() => {
    fx = createRemoteFixture(1);
    bin = join(fx.root, 'bin-without-bwrap');
    mkdirSync(bin);
    for (const tool of ['git', 'sh', 'setpriv', 'cat', 'echo', 'sleep']) symlinkSync(`/usr/bin/${tool}`.replace('/usr/bin/sh', '/bin/sh'), join(bin, tool));
  });
  afterEach(() => {
    child?.kill('SIGKILL');
    child = undefined;
  });
  afterAll(() => fx?.cleanup());

  async function serve(dataDir: string, env: Record<string, string> = {}) {
    const s = await spawnServe({ PATH: bin, BGAGENT_DATA_DIR: dataDir, BGAGENT_LOG_LEVEL: 'info', ...env });
    child = s.child;
    const token = readFileSync(join(dataDir, 'admin-token'), 'utf8').trim();
    const api = async (method: string, path: string, body?: unknown) => {
      const res = await fetch(`${s.url}${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
        body: body ? JSON.stringify(body) : undefined,
      });
      return { status: res.status, body: (await res.json()) as any };
    };
    expect((await api('POST', '/v1/repos', { name: 'acme/demo', clone_url: fx.url, agent: 'command', agent_settings: { command: 'echo ran > ran.txt' } })).status).toBe(201);
    const runTask = async () => {
      const created = await api('POST', '/v1/tasks', { repo: 'acme/demo', task: 'Do it' });
      expect(created.status).toBe(201);
      return waitFor(async () => {
        const { body } = await api('GET', `/v1/tasks/${created.body.task.id}`);
        return ['COMPLETED', 'FAILED'].includes(body.task.status) ? body.task : undefined;
      }, 30_000, 'the task to end');
    };
    return { ...s, api, runTask };
  }

  it('refuses every task with SANDBOX_UNAVAILABLE, says how to install bubblewrap, and is not ready', async () => {
    const dataDir = join(fx.root, 'data-refusing');
    const s = await serve(dataDir);
    const task = await s.runTask();
    expect(task).toMatchObject({ status: 'FAILED', error_code: 'SANDBOX_UNAVAILABLE' });
    expect(task.error_message).toContain('apt-get install bubblewrap');
    expect(task.error_message).toContain('BGAGENT_SANDBOX=none');
    const ready = await fetch(`${s.url}/readyz`);
    expect(ready.status).toBe(503);
    expect(((await ready.json()) as { reason: string }).reason).toMatch(/^sandbox unavailable: bwrap \(bubblewrap\) is not installed/);
    // No workspace was made: the task failed before the clone.
    expect(s.output()).toContain('no agent will run: the sandbox is unavailable');

    const doctor = await runCli(['doctor', '--json'], { PATH: bin, BGAGENT_DATA_DIR: dataDir });
    expect(doctor.code).toBe(1);
    expect(JSON.parse(doctor.stdout).sandbox).toMatchObject({ mode: 'unavailable', status: 'error' });
  });

  it('runs agents unconfined only with BGAGENT_SANDBOX=none, with a WARN for every task', async () => {
    const dataDir = join(fx.root, 'data-unconfined');
    const s = await serve(dataDir, { BGAGENT_SANDBOX: 'none' });
    expect((await s.runTask()).status).toBe('COMPLETED');
    expect((await s.runTask()).status).toBe('COMPLETED');
    const warnings = s.output().split('\n').filter((l) => l.includes('the agent runs WITHOUT a sandbox'));
    expect(warnings).toHaveLength(2);
    expect((await fetch(`${s.url}/readyz`)).status).toBe(200);

    const doctor = await runCli(['doctor', '--json'], { PATH: bin, BGAGENT_DATA_DIR: dataDir, BGAGENT_SANDBOX: 'none' });
    expect(JSON.parse(doctor.stdout).sandbox).toMatchObject({ mode: 'none', status: 'warn' });
    // Unconfined agents need setpriv's parent-death signal; doctor says when it is missing.
    const noSetpriv = join(fx.root, 'bin-without-setpriv');
    mkdirSync(noSetpriv);
    const missing = await runCli(['doctor', '--json'], { PATH: noSetpriv, BGAGENT_DATA_DIR: dataDir, BGAGENT_SANDBOX: 'none' });
    expect(missing.code).toBe(1);
    expect(JSON.parse(missing.stdout).sandbox).toMatchObject({ mode: 'none', status: 'error' });
  });
});
