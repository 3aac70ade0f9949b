import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ClaudeHarness } from '../../src/agent/claude-harness.js';
import { startScriptedModel, type ScriptedModel } from '../support/anthropic/scripted-server.js';
import { createTestWorkspace, runInput, scriptedModelEnv, type TestWorkspace } from '../support/anthropic/agent-run.js';

describe('how Claude Code is launched', () => {
  let model: ScriptedModel | undefined;
  let ws: TestWorkspace | undefined;
  afterEach(async () => {
    await model?.close();
    ws?.cleanup();
  });

  it('goes through wrapLaunch, so a sandbox can wrap the agent process', async () => {
    ws = createTestWorkspace();
    model = await startScriptedModel([
      { toolUse: { name: 'Bash', input: { command: 'echo "$WRAPPED_BY" > wrapped.txt' } } },
      { finish: 'done' },
    ]);
    const url = model.url;
    const launches: string[] = [];
    const harness = new ClaudeHarness({
      modelEnv: async () => scriptedModelEnv(url),
      wrapLaunch: (launch) => {
        launches.push(launch.command);
        return { ...launch, command: '/usr/bin/env', args: ['WRAPPED_BY=test-wrapper', launch.command, ...launch.args] };
      },
    });

    const result = await harness.run(runInput(ws));

    expect(result.outcome).toBe('success');
    expect(launches).toHaveLength(1);
    expect(readFileSync(join(ws.path, 'wrapped.txt'), 'utf8').trim()).toBe('test-wrapper');
  });

  it('fails with a clear message when Claude Code cannot be started', async () => {
    ws = createTestWorkspace();
    const harness = new ClaudeHarness({
      modelEnv: async () => scriptedModelEnv('http://127.0.0.1:9'),
      pathToClaudeCodeExecutable: join(ws.path, 'no-such-claude'),
    });

    const result = await harness.run(runInput(ws));

    expect(result.outcome).toBe('failed');
    expect(result.errorMessage).toMatch(/^The agent could not run: .*no-such-claude/);
  });

  it('reports cancelled without starting Claude Code when the task is already cancelled', async () => {
    ws = createTestWorkspace();
    const cancel = new AbortController();
    cancel.abort();
    const harness = new ClaudeHarness({ modelEnv: async () => ({}), pathToClaudeCodeExecutable: join(ws.path, 'no-such-claude') });

    const result = await harness.run(runInput(ws, { signal: cancel.signal }));

    expect(result.outcome).toBe('cancelled');
  });
});
