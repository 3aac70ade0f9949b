import { afterEach, describe, expect, it } from 'vitest';
import { ClaudeHarness } from '../../src/agent/claude-harness.js';
import { TASK_TOOL_NAMES, type TaskTools } from '../../src/agent/task-tools.js';
import { startScriptedModel, type ScriptedModel } from '../support/anthropic/scripted-server.js';
import { createTestWorkspace, runInput, scriptedModelEnv, type TestWorkspace } from '../support/anthropic/agent-run.js';

describe('the in-process task tools', () => {
  let model: ScriptedModel | undefined;
  let ws: TestWorkspace | undefined;
  afterEach(async () => {
    await model?.close();
    ws?.cleanup();
  });

  it('answer get_task_context and report_progress from the platform process', async () => {
    ws = createTestWorkspace();
    model = await startScriptedModel([
      { toolUse: { name: TASK_TOOL_NAMES.getTaskContext, input: {} } },
      { toolUse: { name: TASK_TOOL_NAMES.reportProgress, input: { message: 'Halfway there' } } },
      { finish: 'Used both tools.' },
    ]);
    const asked: string[] = [];
    const reported: Array<[string, string]> = [];
    const tools: TaskTools = {
      getTaskContext: async (taskId) => {
        asked.push(taskId);
        return 'Issue ENG-42: Fix the login button\n\nComment: it is blue, make it green';
      },
      reportProgress: async (taskId, message) => {
        reported.push([taskId, message]);
      },
    };
    const url = model.url;
    const harness = new ClaudeHarness({ modelEnv: async () => scriptedModelEnv(url), tools });
    const input = runInput(ws);

    const result = await harness.run(input);

    expect(result).toMatchObject({ outcome: 'success', summary: 'Used both tools.' });
    expect(asked).toEqual([input.taskId]);
    expect(reported).toEqual([[input.taskId, 'Halfway there']]);
    expect(input.events).toContainEqual({ type: 'progress', message: 'Halfway there' });
    // the tool's answer went back to the model as the tool result
    expect(JSON.stringify(model.conversationRequests()[1]?.body)).toContain('Issue ENG-42: Fix the login button');
    const toolResults = input.events.filter((e) => e.type === 'tool_result');
    expect(toolResults.map((e) => e.data?.isError)).toEqual([false, false]);
  });
});
