import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ClaudeHarness } from '../../src/agent/claude-harness.js';
import { startScriptedModel, type ScriptedModel } from '../support/anthropic/scripted-server.js';
import { createTestWorkspace, runInput, scriptedModelEnv, TEST_MODEL_KEY, type TestWorkspace } from '../support/anthropic/agent-run.js';

describe('ClaudeHarness with the real Claude Code against a scripted model', () => {
  let model: ScriptedModel | undefined;
  let ws: TestWorkspace | undefined;
  afterEach(async () => {
    await model?.close();
    ws?.cleanup();
  });

  it('writes a file, runs a command and reports cost and turns', async () => {
    ws = createTestWorkspace();
    model = await startScriptedModel([
      { text: 'Writing the file.', toolUse: { name: 'Write', input: { file_path: join(ws.path, 'hello.txt'), content: 'hello from the agent\n' } } },
      { toolUse: { name: 'Bash', input: { command: 'wc -c hello.txt > size.txt', description: 'count bytes' } } },
      { finish: 'Added hello.txt and size.txt.' },
    ]);
    const url = model.url;
    const harness = new ClaudeHarness({ model: 'claude-sonnet-4-5', modelEnv: async () => scriptedModelEnv(url) });
    const input = runInput(ws);

    const result = await harness.run(input);

    expect(result).toMatchObject({ outcome: 'success', summary: 'Added hello.txt and size.txt.', turns: 3 });
    expect(result.costUsd).toBeGreaterThan(0);
    expect(readFileSync(join(ws.path, 'hello.txt'), 'utf8')).toBe('hello from the agent\n');
    expect(readFileSync(join(ws.path, 'size.txt'), 'utf8')).toContain('21');
    const tools = input.events.filter((e) => e.type === 'tool_use').map((e) => e.data?.tool);
    expect(tools).toEqual(['Write', 'Bash']);
    expect(input.events.some((e) => e.type === 'agent_message' && e.message === 'Writing the file.')).toBe(true);
    expect(input.events.filter((e) => e.type === 'tool_result')).toHaveLength(2);
    expect(input.events.at(-1)).toMatchObject({ type: 'agent_output', data: { outcome: 'success', turns: 3 } });
    for (const req of model.conversationRequests()) {
      expect(req.headers['x-api-key']).toBe(TEST_MODEL_KEY);
      expect((req.body as { model: string }).model).toBe('claude-sonnet-4-5');
    }
    expect(model.remainingTurns()).toBe(0);
  });
});
