import { execFile } from 'node:child_process';
import { rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startScriptedModel, type ScriptedModel, type ScriptTurn } from '../support/anthropic/scripted-server.js';
import { startGitHubEmulator, type GitHubEmulator } from '../support/github/emulator.js';
import { startTestServer, waitFor, type TestServer } from '../support/server.js';
import { tempDir } from '../support/databases.js';
import { sandboxSupport } from '../support/sandbox.js';

const exec = promisify(execFile);
const PUSH_TOKEN = 'test-gh-token-with-push';
const MODEL_KEY = 'sk-ant-test-e2e-key';
const TERMINAL = ['COMPLETED', 'FAILED', 'CANCELLED', 'TIMED_OUT'];

/** The real server, the real Claude Agent SDK against a scripted model, and the GitHub emulator. */
describe('a Claude task on a GitHub repository', () => {
  let github: GitHubEmulator;
  let model: ScriptedModel | undefined;
  let server: TestServer | undefined;

  beforeAll(async () => {
    process.env.BGAGENT_E2E_GITHUB_TOKEN = PUSH_TOKEN;
    process.env.BGAGENT_E2E_MODEL_KEY = MODEL_KEY;
    process.env.CLAUDE_CODE_MAX_RETRIES = '0';
    process.env.DISABLE_TELEMETRY = '1';
    process.env.CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC = '1';
    // Set in the platform's environment on purpose: the agent must never see it.
    process.env.GITHUB_TOKEN = PUSH_TOKEN;
    process.env.LINEAR_API_KEY_VALUE = 'lin-test-secret';
    github = await startGitHubEmulator({ tokens: { [PUSH_TOKEN]: { login: 'bgagent-bot', repos: { 'acme/demo': 'push', 'acme/readonly': 'pull', 'acme/budget': 'push', 'acme/turns': 'push' } } } });
    await github.createRepo('acme', 'demo', { files: { 'README.md': '# demo\n', 'CLAUDE.md': 'Keep changes small.\n' } });
    await github.createRepo('acme', 'readonly', { files: { 'README.md': '# ro\n' } });
    await github.createRepo('acme', 'budget', { files: { 'README.md': '# b\n' } });
    await github.createRepo('acme', 'turns', { files: { 'README.md': '# t\n' } });
    return async () => {
      await github.close();
    };
  });
  afterEach(async () => {
    await server?.destroy();
    await model?.close();
    server = undefined;
    model = undefined;
  });

  async function start(script: ScriptTurn[], env: Record<string, string> = {}, dataDir?: string) {
    model = await startScriptedModel(script);
    server = await startTestServer({
      dialect: 'sqlite',
      dataDir,
      env: {
        GITHUB_API_URL: github.url,
        GITHUB_TOKEN: 'env:BGAGENT_E2E_GITHUB_TOKEN',
        ANTHROPIC_API_KEY: 'env:BGAGENT_E2E_MODEL_KEY',
        ANTHROPIC_BASE_URL: model.url,
        ...env,
      },
    });
    for (const name of ['demo', 'readonly', 'missing', 'budget', 'turns']) {
      const res = await server.api('POST', '/v1/repos', { body: { name: `acme/${name}`, clone_url: github.gitUrl('acme', name), agent: 'claude' } });
      expect(res.status).toBe(201);
    }
    return server;
  }

  async function run(s: TestServer, body: Record<string, unknown>) {
    const created = await s.api('POST', '/v1/tasks', { body });
    expect(created.status).toBe(201);
    return waitFor(async () => {
      const { body: b } = await s.api('GET', `/v1/tasks/${created.body.task.id}`);
      return TERMINAL.includes(b.task.status) ? b.task : undefined;
    }, 60_000, 'the task to end');
  }

  async function showFromBranch(branch: string, file: string): Promise<string> {
    const { stdout } = await exec('git', ['--git-dir', `${github.state.repos['acme/demo']!.path}`, 'show', `${branch}:${file}`]);
    return stdout;
  }

  it('runs the agent, pushes its commit over HTTP with the token and opens the pull request', async () => {
    const s = await start([
      { text: 'Adding the greeting.', toolUse: { name: 'Bash', input: { command: 'echo hello > hello.txt && env | sort > agent-env.txt', description: 'write files' } } },
      { finish: 'Added hello.txt.' },
    ]);
    const task = await run(s, { repo: 'acme/demo', task: 'Add a greeting file', max_turns: 10 });
    expect(task).toMatchObject({ status: 'COMPLETED', outcome: 'pr_opened', turns: 2, summary: 'Added hello.txt.' });
    expect(task.cost_usd).toBeGreaterThan(0);

    expect(github.state.pulls).toHaveLength(1);
    const pr = github.state.pulls[0]!;
    expect(pr).toMatchObject({ head: task.branch_name, base: 'main', title: 'Add a greeting file' });
    expect(pr.body).toContain('Added hello.txt.');
    expect(pr.body).toContain(task.id);
    expect(task.pr_number).toBe(pr.number);
    expect(task.pr_url).toContain(`/pull/${pr.number}`);
    expect(await showFromBranch(task.branch_name, 'hello.txt')).toBe('hello\n');

    // The agent's environment held no platform credential.
    const agentEnv = await showFromBranch(task.branch_name, 'agent-env.txt');
    expect(agentEnv).not.toContain(PUSH_TOKEN);
    expect(agentEnv).not.toContain('lin-test-secret');
    expect(agentEnv).not.toMatch(/^(GITHUB_TOKEN|GH_TOKEN|LINEAR_API_KEY)/m);

    const events = (await s.api('GET', `/v1/tasks/${task.id}/events`)).body.events.map((e: { type: string }) => e.type);
    for (const t of ['preflight_passed', 'session_started', 'tool_use', 'agent_finished', 'branch_pushed', 'pr_created', 'task_completed']) expect(events).toContain(t);
    for (const req of model!.conversationRequests()) expect(req.headers['x-api-key']).toBe(MODEL_KEY);
  });

  it('fails at pre-flight, before any model call, when the repo is missing or the token cannot push', async () => {
    const s = await start([{ finish: 'never used' }]);
    const missing = await run(s, { repo: 'acme/missing', task: 'x' });
    expect(missing).toMatchObject({ status: 'FAILED', error_code: 'REPO_NOT_FOUND_OR_NO_ACCESS' });
    const readonly = await run(s, { repo: 'acme/readonly', task: 'x' });
    expect(readonly).toMatchObject({ status: 'FAILED', error_code: 'INSUFFICIENT_GITHUB_REPO_PERMISSIONS' });
    expect(readonly.error_message).toMatch(/push/i);
    expect(model!.requests).toHaveLength(0);
  });

  it('ends with MAX_TURNS_REACHED at the turn limit and BUDGET_EXCEEDED over the budget', async () => {
    const loop: ScriptTurn[] = Array.from({ length: 6 }, (_, i) => ({ toolUse: { name: 'Bash', input: { command: `echo ${i} >> loop.txt`, description: 'loop' } } }));
    const s = await start([...loop, { finish: 'done' }]);
    const turns = await run(s, { repo: 'acme/turns', task: 'Loop', max_turns: 2 });
    expect(turns).toMatchObject({ status: 'FAILED', error_code: 'MAX_TURNS_REACHED' });
    await model!.close();
    model = await startScriptedModel([{ toolUse: { name: 'Bash', input: { command: 'true', description: 'x' } }, usage: { input_tokens: 200_000, output_tokens: 10_000 } }, { finish: 'done' }]);
    await s.destroy();
    server = await startTestServer({
      dialect: 'sqlite',
      env: { GITHUB_API_URL: github.url, GITHUB_TOKEN: 'env:BGAGENT_E2E_GITHUB_TOKEN', ANTHROPIC_API_KEY: 'env:BGAGENT_E2E_MODEL_KEY', ANTHROPIC_BASE_URL: model.url },
    });
    await server.api('POST', '/v1/repos', { body: { name: 'acme/budget', clone_url: github.gitUrl('acme', 'budget'), agent: 'claude' } });
    const budget = await run(server, { repo: 'acme/budget', task: 'Spend', max_budget_usd: 0.01 });
    expect(budget).toMatchObject({ status: 'FAILED', error_code: 'BUDGET_EXCEEDED' });
  });

  it('fails quickly with a clear reason when the model API is unreachable', async () => {
    const s = await start([], { ANTHROPIC_BASE_URL: 'http://127.0.0.1:9' });
    const started = Date.now();
    const task = await run(s, { repo: 'acme/demo', task: 'x' });
    expect(task).toMatchObject({ status: 'FAILED', error_code: 'AGENT_FAILED' });
    expect(task.error_message).toMatch(/connect|ECONNREFUSED|unable|refused/i);
    expect(Date.now() - started).toBeLessThan(60_000);
  });

  it.skipIf(!sandboxSupport.available)('runs the agent inside bubblewrap, where it reads no secret of the platform, its HOME or its parent', async () => {
    const dataDir = tempDir();
    const homeCanary = join(homedir(), `.bgagent-claude-canary-${process.pid}`);
    writeFileSync(homeCanary, 'CANARY-SERVER-HOME-claude\n', { mode: 0o600 });
    try {
      const probeCommand = [
        `cat ${dataDir}/admin-token ${dataDir}/bgagent.db ${homeCanary} 2>/dev/null || echo hidden`,
        'cat /proc/1/environ /proc/$PPID/environ 2>/dev/null | tr "\\0" "\\n"',
        'env',
        `ls -A ${homedir()} 2>/dev/null`,
      ].join('; ');
      const s = await start(
        [{ toolUse: { name: 'Bash', input: { command: `(${probeCommand}) > probe.txt 2>&1; echo written > sandboxed.txt`, description: 'probe' } } }, { finish: 'probed' }],
        { BGAGENT_SANDBOX: 'bwrap', AWS_SECRET_ACCESS_KEY: 'CANARY-AWS-SECRET' },
        dataDir,
      );
      const task = await run(s, { repo: 'acme/demo', task: 'Probe the sandbox' });
      expect(task).toMatchObject({ status: 'COMPLETED' });
      expect(await showFromBranch(task.branch_name, 'sandboxed.txt')).toBe('written\n');
      const probe = await showFromBranch(task.branch_name, 'probe.txt');
      expect(probe).toContain('hidden');
      for (const secret of [s.adminToken, PUSH_TOKEN, 'lin-test-secret', 'CANARY-SERVER-HOME-claude', 'CANARY-AWS-SECRET', 'BGAGENT_E2E_']) expect(probe).not.toContain(secret);
      // The probe saw Claude Code's own environment (its PATH), so the reads did run.
      expect(probe).toMatch(/^PATH=/m);
    } finally {
      rmSync(homeCanary, { force: true });
    }
  });

  it.skipIf(!sandboxSupport.available)('puts no host file into the model\'s prompt through a symlinked CLAUDE.md or AGENTS.md', async () => {
    const dataDir = tempDir();
    await commitSymlinks(github.state.repos['acme/demo']!.path, { 'CLAUDE.md': '/proc/self/environ', 'AGENTS.md': `${dataDir}/admin-token` });
    const s = await start([{ finish: 'read the guidance' }], { BGAGENT_SANDBOX: 'bwrap' }, dataDir);
    const task = await run(s, { repo: 'acme/demo', task: 'Read the guidance' });
    expect(task.status).toBe('COMPLETED');
    const sent = JSON.stringify(model!.requests.map((r) => r.body));
    for (const secret of [s.adminToken, PUSH_TOKEN, 'lin-test-secret', 'BGAGENT_E2E_GITHUB_TOKEN']) expect(sent).not.toContain(secret);
  });
});

/** Commits symbolic links to the default branch of a bare repository (the emulator's files are plain). */
async function commitSymlinks(bare: string, links: Record<string, string>): Promise<void> {
  const work = tempDir();
  await exec('git', ['clone', '-q', bare, work]);
  for (const [name, target] of Object.entries(links)) {
    rmSync(join(work, name), { force: true });
    symlinkSync(target, join(work, name));
  }
  await exec('git', ['-C', work, 'add', '-A']);
  await exec('git', ['-C', work, '-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-q', '-m', 'guidance links']);
  await exec('git', ['-C', work, 'push', '-q', 'origin', 'HEAD']);
  rmSync(work, { recursive: true, force: true });
}
