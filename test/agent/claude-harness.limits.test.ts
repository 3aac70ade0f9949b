import { createServer } from 'node:net';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ClaudeHarness } from '../../src/agent/claude-harness.js';
import { startScriptedModel, type ScriptedModel } from '../support/anthropic/scripted-server.js';
import { createTestWorkspace, runInput, scriptedModelEnv, type TestWorkspace } from '../support/anthropic/agent-run.js';

/** Claude Code refuses a plain long `sleep` in the foreground, so wait in node, leaving its pid behind. */
const LONG_COMMAND = `node -e "require('fs').writeFileSync('waiter.pid', String(process.pid)); setTimeout(() => {}, 30000)"`;

/** Whether the command is still running (a killed process not yet reaped is a zombie: not running). */
function waiterAlive(workspace: string): boolean {
  const pid = Number(readFileSync(join(workspace, 'waiter.pid'), 'utf8'));
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^\S+ \(.*\) Z /.test(stat);
  } catch {
    return false;
  }
}

function harnessFor(url: string): ClaudeHarness {
  return new ClaudeHarness({ model: 'claude-sonnet-4-5', modelEnv: async () => scriptedModelEnv(url) });
}

/** A port on 127.0.0.1 that nothing listens on. */
async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

describe('ClaudeHarness limits and failures', () => {
  let model: ScriptedModel | undefined;
  let ws: TestWorkspace | undefined;
  afterEach(async () => {
    await model?.close();
    model = undefined;
    ws?.cleanup();
  });

  it('ends with max_turns when the agent keeps calling tools past the turn limit', async () => {
    ws = createTestWorkspace();
    model = await startScriptedModel([
      { toolUse: { name: 'Bash', input: { command: 'echo one' } } },
      { toolUse: { name: 'Bash', input: { command: 'echo two' } } },
      { toolUse: { name: 'Bash', input: { command: 'echo three' } } },
      { finish: 'never reached' },
    ]);
    const result = await harnessFor(model.url).run(runInput(ws, { maxTurns: 2 }));

    expect(result.outcome).toBe('max_turns');
    expect(result.errorMessage).toContain('turn limit (2 turns)');
    expect(result.costUsd).toBeGreaterThan(0);
    expect(model.conversationRequests()).toHaveLength(2);
  });

  it('ends with budget_exceeded when the first turn costs more than the budget', async () => {
    ws = createTestWorkspace();
    model = await startScriptedModel([
      // 100k input + 10k output tokens on Sonnet 4.5 list prices is about $0.45
      { toolUse: { name: 'Write', input: { file_path: join(ws.path, 'a.txt'), content: 'a' } }, usage: { input_tokens: 100_000, output_tokens: 10_000 } },
      { toolUse: { name: 'Write', input: { file_path: join(ws.path, 'b.txt'), content: 'b' } } },
      { finish: 'never reached' },
    ]);
    const result = await harnessFor(model.url).run(runInput(ws, { maxBudgetUsd: 0.01 }));

    expect(result.outcome).toBe('budget_exceeded');
    expect(result.costUsd).toBeGreaterThan(0.01);
    expect(result.errorMessage).toContain('budget of $0.01');
    expect(model.remainingTurns()).toBeGreaterThan(0);
  });

  it('fails with a clear message when the model API is unreachable', async () => {
    ws = createTestWorkspace();
    const url = `http://127.0.0.1:${await closedPort()}`;
    const result = await harnessFor(url).run(runInput(ws));

    expect(result.outcome).toBe('failed');
    expect(result.errorMessage).toMatch(/model API call failed: .*(Connection|ECONNREFUSED)/i);
  });

  it('fails with a clear message when the model API rejects the key', async () => {
    ws = createTestWorkspace();
    model = await startScriptedModel([{ error: { status: 401, type: 'authentication_error', message: 'invalid x-api-key' } }]);
    const result = await harnessFor(model.url).run(runInput(ws));

    expect(result.outcome).toBe('failed');
    expect(result.errorMessage).toMatch(/model API call failed: .*(api key|authentication|401)/i);
  });

  it('stops the agent and reports cancelled when the task is cancelled', async () => {
    ws = createTestWorkspace();
    model = await startScriptedModel([
      { toolUse: { name: 'Bash', input: { command: LONG_COMMAND, timeout: 60000 } } },
      { finish: 'never reached' },
    ]);
    const cancel = new AbortController();
    const input = runInput(ws, {
      signal: cancel.signal,
      onEvent: (ev) => {
        // cancel once the agent's command is running
        if (ev.type === 'tool_use') setTimeout(() => cancel.abort(), 500);
      },
    });
    const result = await harnessFor(model.url).run(input);

    expect(result.outcome).toBe('cancelled');
    expect(model.conversationRequests()).toHaveLength(1);
    expect(waiterAlive(ws.path)).toBe(false);
  });

  it('stops the agent and reports timed_out when it runs past its time limit', async () => {
    ws = createTestWorkspace();
    model = await startScriptedModel([
      { toolUse: { name: 'Bash', input: { command: LONG_COMMAND, timeout: 60000 } } },
      { finish: 'never reached' },
    ]);
    // Long enough for Claude Code to start the command on a loaded machine; the command runs for a minute.
    const result = await harnessFor(model.url).run(runInput(ws, { timeoutMs: 6000 }));

    expect(result.outcome).toBe('timed_out');
    expect(result.errorMessage).toContain('longer than 6 s');
    expect(waiterAlive(ws.path)).toBe(false);
  });
});
