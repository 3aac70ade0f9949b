import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AgentEvent, AgentRunInput } from '../../../src/agent/harness.js';

/**
 * What the tests give Claude Code to reach the scripted model: a fake key, no retries, no traffic
 * other than the model calls.
 */
export const TEST_MODEL_KEY = 'sk-ant-test-scripted-key';

export function scriptedModelEnv(url: string): Record<string, string> {
  return {
    ANTHROPIC_BASE_URL: url,
    ANTHROPIC_API_KEY: TEST_MODEL_KEY,
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
    DISABLE_TELEMETRY: '1',
    CLAUDE_CODE_MAX_RETRIES: '0',
    IS_SANDBOX: '1',
  };
}

export interface TestWorkspace {
  path: string;
  home: string;
  cleanup(): void;
}

/** A git repository with one commit, plus a private HOME for the agent. */
export function createTestWorkspace(files: Record<string, string> = { 'README.md': '# demo\n' }): TestWorkspace {
  const root = mkdtempSync(join(tmpdir(), 'bgagent-agent-test-'));
  const path = join(root, 'ws');
  const home = join(root, 'home');
  execFileSync('git', ['init', '-q', '-b', 'main', path]);
  execFileSync('mkdir', ['-p', home]);
  for (const [name, content] of Object.entries(files)) writeFileSync(join(path, name), content);
  const env = { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@t', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@t' };
  execFileSync('git', ['add', '-A'], { cwd: path, env });
  execFileSync('git', ['commit', '-q', '-m', 'initial'], { cwd: path, env });
  return { path, home, cleanup: () => rmSync(root, { recursive: true, force: true }) };
}

/** A run input with the explicit environment a task would get (PATH and a private HOME only). */
export function runInput(ws: TestWorkspace, overrides: Partial<AgentRunInput> = {}): AgentRunInput & { events: AgentEvent[] } {
  const events: AgentEvent[] = [];
  return {
    taskId: '01TESTTASK',
    workspacePath: ws.path,
    taskText: 'Do the scripted thing',
    prompt: 'Do the scripted thing',
    maxTurns: 10,
    maxBudgetUsd: null,
    timeoutMs: 60_000,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: ws.home },
    settings: {},
    signal: new AbortController().signal,
    onEvent: (ev) => events.push(ev),
    events,
    ...overrides,
  };
}
