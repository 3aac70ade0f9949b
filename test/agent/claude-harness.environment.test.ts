import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ClaudeHarness } from '../../src/agent/claude-harness.js';
import { startScriptedModel, type ScriptedModel } from '../support/anthropic/scripted-server.js';
import { createTestWorkspace, runInput, scriptedModelEnv, TEST_MODEL_KEY, type TestWorkspace } from '../support/anthropic/agent-run.js';

const PLATFORM_SECRETS = { GITHUB_TOKEN: 'ghp_platform_secret', GH_TOKEN: 'ghp_platform_secret2', LINEAR_API_KEY: 'lin_api_platform_secret' };

function readEnvFile(path: string): Map<string, string> {
  const vars = new Map<string, string>();
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) vars.set(line.slice(0, eq), line.slice(eq + 1));
  }
  return vars;
}

describe("the agent's environment", () => {
  let model: ScriptedModel | undefined;
  let ws: TestWorkspace | undefined;
  const saved: Record<string, string | undefined> = {};
  beforeEach(() => {
    for (const [k, v] of Object.entries(PLATFORM_SECRETS)) {
      saved[k] = process.env[k];
      process.env[k] = v;
    }
  });
  afterEach(async () => {
    for (const k of Object.keys(PLATFORM_SECRETS)) {
      if (saved[k] === undefined) delete process.env[k];
      else process.env[k] = saved[k];
    }
    await model?.close();
    ws?.cleanup();
  });

  it('holds the run env and the model env, and no platform token even when the platform process has them', async () => {
    ws = createTestWorkspace();
    model = await startScriptedModel([
      { toolUse: { name: 'Bash', input: { command: 'env > agent-env.txt' } } },
      { finish: 'Captured the environment.' },
    ]);
    const url = model.url;
    const harness = new ClaudeHarness({ modelEnv: async () => scriptedModelEnv(url) });
    const input = runInput(ws);
    input.env.BGAGENT_TASK_MARKER = 'marker-1';

    const result = await harness.run(input);

    expect(result.outcome).toBe('success');
    const vars = readEnvFile(join(ws.path, 'agent-env.txt'));
    expect(vars.get('BGAGENT_TASK_MARKER')).toBe('marker-1');
    expect(vars.get('HOME')).toBe(ws.home);
    expect([...vars.keys()].filter((name) => /GITHUB|GH_|LINEAR/i.test(name))).toEqual([]);
    const values = [...vars.values()].join('\n');
    for (const secret of Object.values(PLATFORM_SECRETS)) expect(values).not.toContain(secret);
    expect(model.conversationRequests()[0]?.headers['x-api-key']).toBe(TEST_MODEL_KEY);
  });

  it('gives the agent a private temporary HOME when the run env has none, and removes it afterwards', async () => {
    ws = createTestWorkspace();
    model = await startScriptedModel([
      { toolUse: { name: 'Bash', input: { command: 'echo "$HOME" > home.txt' } } },
      { finish: 'done' },
    ]);
    const url = model.url;
    const harness = new ClaudeHarness({ modelEnv: async () => scriptedModelEnv(url) });

    const result = await harness.run(runInput(ws, { env: { PATH: process.env.PATH ?? '/usr/bin:/bin' } }));

    expect(result.outcome).toBe('success');
    const home = readFileSync(join(ws.path, 'home.txt'), 'utf8').trim();
    expect(home).toMatch(/bgagent-agent-home-/);
    expect(existsSync(home)).toBe(false);
  });

  it("loads the repository's CLAUDE.md and AGENTS.md and uses the repo's model setting", async () => {
    ws = createTestWorkspace({
      'README.md': '# demo\n',
      'CLAUDE.md': 'Guidance from CLAUDE.md: marker CLAUDE-ZETA-7.\n',
      'AGENTS.md': 'Guidance from AGENTS.md: marker AGENTS-OMEGA-9.\n',
    });
    model = await startScriptedModel([{ finish: 'Read the guidance.' }]);
    const url = model.url;
    const harness = new ClaudeHarness({ model: 'claude-sonnet-4-5', modelEnv: async () => scriptedModelEnv(url) });

    const result = await harness.run(runInput(ws, { settings: { model: 'claude-haiku-4-5' } }));

    expect(result).toMatchObject({ outcome: 'success', summary: 'Read the guidance.' });
    const [first] = model.conversationRequests();
    const body = JSON.stringify(first?.body);
    expect(body).toContain('CLAUDE-ZETA-7');
    expect(body).toContain('AGENTS-OMEGA-9');
    expect((first?.body as { model: string }).model).toBe('claude-haiku-4-5');
    expect(first?.headers['x-api-key']).toBe(TEST_MODEL_KEY);
  });
});
