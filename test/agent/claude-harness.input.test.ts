import { afterEach, describe, expect, it } from 'vitest';
import { ClaudeHarness, unseenFollowUps } from '../../src/agent/claude-harness.js';
import type { AgentInputs } from '../../src/agent/harness.js';
import { TASK_TOOL_NAMES } from '../../src/agent/task-tools.js';
import { startScriptedModel, type ScriptedModel } from '../support/anthropic/scripted-server.js';
import { createTestWorkspace, runInput, scriptedModelEnv, type TestWorkspace } from '../support/anthropic/agent-run.js';

/** Messages waiting for the agent, handed out once, with a wake-up when one is added. */
function inputQueue(): AgentInputs & { add(text: string): void } {
  const waiting: string[] = [];
  let wake: (() => void) | undefined;
  return {
    add(text) {
      waiting.push(text);
      wake?.();
    },
    take: async () => waiting.splice(0),
    changed: (signal) =>
      new Promise<void>((resolve) => {
        wake = resolve;
        signal.addEventListener('abort', () => resolve(), { once: true });
      }),
  };
}

const conversationText = (model: ScriptedModel, i: number): string => JSON.stringify(model.conversationRequests()[i]?.body ?? {});

describe('the claude harness with follow-ups, questions and resumed conversations', () => {
  let model: ScriptedModel | undefined;
  const workspaces: TestWorkspace[] = [];
  afterEach(async () => {
    await model?.close();
    model = undefined;
    for (const ws of workspaces.splice(0)) ws.cleanup();
  });

  it('passes a follow-up sent while the agent works to the agent, and ends once everything is answered', async () => {
    const ws = createTestWorkspace();
    workspaces.push(ws);
    model = await startScriptedModel([
      { toolUse: { name: 'Bash', input: { command: 'sleep 2', description: 'wait' } } },
      { finish: 'Did the first thing.' },
    ]);
    const url = model.url;
    const inputs = inputQueue();
    const harness = new ClaudeHarness({ modelEnv: async () => scriptedModelEnv(url) });
    const input = runInput(ws, { inputs });
    setTimeout(() => inputs.add('Also add a CHANGELOG line, please'), 700);

    const result = await harness.run(input);

    // Claude Code hands the follow-up to the model with the tool result of the turn under way.
    expect(result).toMatchObject({ outcome: 'success', summary: 'Did the first thing.' });
    expect(conversationText(model, 1)).toContain('Also add a CHANGELOG line, please');
    expect(result.undelivered).toBeUndefined();
    expect(result.conversation?.sessionId).toMatch(/^[0-9a-f-]{36}$/);
    expect(result.conversation?.transcript).toContain('Also add a CHANGELOG line, please');
    // Claude Code may fold the follow-up into the prompt's user message: only text outside the prompt counts,
    // and only lines this run wrote (not a restored conversation's).
    const transcript = result.conversation!.transcript;
    const run = { restored: undefined, prompt: 'Do the scripted thing' };
    expect(unseenFollowUps(['Also add a CHANGELOG line, please', 'scripted', 'thing'], transcript, run)).toEqual(['scripted', 'thing']);
    expect(unseenFollowUps(['Also add a CHANGELOG line, please'], transcript, { ...run, restored: transcript })).toEqual(['Also add a CHANGELOG line, please']);
    expect(input.events).toContainEqual(expect.objectContaining({ type: 'agent_message', message: expect.stringContaining('Follow-up passed to the agent') }));
  });

  it('ends the run on a question, and a later run in another workspace and HOME resumes the conversation with the answer', async () => {
    const first = createTestWorkspace();
    const second = createTestWorkspace();
    workspaces.push(first, second);
    model = await startScriptedModel([
      { toolUse: { name: TASK_TOOL_NAMES.requestClarification, input: { question: 'Should the button be green or blue?' } } },
      { finish: 'I asked which colour; waiting for the answer.' },
      { finish: 'Made the button green.' },
    ]);
    const url = model.url;
    const harness = new ClaudeHarness({ modelEnv: async () => scriptedModelEnv(url) });

    const asked = await harness.run(runInput(first));
    expect(asked).toMatchObject({ outcome: 'awaiting_input', question: 'Should the button be green or blue?' });
    expect(asked.conversation?.transcript).toContain('Should the button be green or blue?');

    const resumed = await harness.run(runInput(second, { prompt: 'Green, please', resume: asked.conversation }));
    expect(resumed).toMatchObject({ outcome: 'success', summary: 'Made the button green.' });
    // The model saw the earlier conversation (the question it asked) and then the answer.
    const last = conversationText(model, 2);
    expect(last).toContain('Should the button be green or blue?');
    expect(last).toContain('Green, please');
    expect(resumed.conversation?.sessionId).toBeTruthy();
  });
});
