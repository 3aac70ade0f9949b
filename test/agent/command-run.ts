import { existsSync, readFileSync } from 'node:fs';
import type { AgentEvent, AgentRunInput } from '../../src/agent/harness.js';

/** A run input for the command harness with a minimal explicit environment; events are collected. */
export function commandRun(workspacePath: string, command: string, over: Partial<AgentRunInput> = {}): AgentRunInput & { events: AgentEvent[] } {
  const events: AgentEvent[] = [];
  return {
    taskId: '01TESTTASK',
    workspacePath,
    taskText: 'Fix the bug\nin two lines',
    prompt: 'unused by the command harness',
    maxTurns: null,
    maxBudgetUsd: null,
    timeoutMs: 20_000,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: workspacePath, GIVEN_VAR: 'given' },
    settings: { command },
    signal: new AbortController().signal,
    onEvent: (ev) => events.push(ev),
    events,
    ...over,
  };
}

/** Whether a process exists and is not a zombie waiting to be reaped. */
export function isAlive(pid: number): boolean {
  const stat = `/proc/${pid}/stat`;
  if (!existsSync(stat)) return false;
  try {
    const state = readFileSync(stat, 'utf8').split(') ')[1]?.[0];
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

export async function waitForFile(path: string, ms = 10_000): Promise<string> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (existsSync(path)) {
      const text = readFileSync(path, 'utf8').trim();
      if (text) return text;
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`${path} did not appear`);
}
