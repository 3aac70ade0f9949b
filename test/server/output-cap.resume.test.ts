import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { TASK_TOOL_NAMES } from '../../src/agent/task-tools.js';
import { startScriptedModel, type ScriptedModel } from '../support/anthropic/scripted-server.js';
import { startGitHubEmulator, type GitHubEmulator } from '../support/github/emulator.js';
import { startTestServer, waitFor, type TestServer } from '../support/server.js';

const PUSH_TOKEN = 'test-gh-token-output-cap';
const AGENT_EVENT_TYPES = ['agent_message', 'tool_use', 'tool_result', 'agent_output', 'progress'];
const CAP = 3;

/** BGAGENT_MAX_OUTPUT_EVENTS_PER_TASK counts over all of a task's runs (a resumed run goes on counting); a continuation starts afresh. */
describe('the agent event cap across a resumed run and a continuation', () => {
  let github: GitHubEmulator;
  let model: ScriptedModel | undefined;
  let server: TestServer | undefined;

  beforeAll(async () => {
    process.env.BGAGENT_E2E_CAP_GITHUB_TOKEN = PUSH_TOKEN;
    process.env.BGAGENT_E2E_CAP_MODEL_KEY = 'sk-ant-test-cap-key';
    process.env.CLAUDE_CODE_MAX_RETRIES = '0';
    process.env.DISABLE_TELEMETRY = '1';
    process.env.CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC = '1';
    github = await startGitHubEmulator({ tokens: { [PUSH_TOKEN]: { login: 'bgagent-bot', repos: { 'acme/ui': 'push' } } } });
    await github.createRepo('acme', 'ui', { files: { 'README.md': '# ui\n' } });
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

  const ended = async (s: TestServer, id: string, wanted: string[]) =>
    waitFor(async () => {
      const { body } = await s.api('GET', `/v1/tasks/${id}`);
      return wanted.includes(body.task.status) ? body.task : undefined;
    }, 60_000, `task ${id} to reach ${wanted.join('|')}`);

  const eventsOf = async (s: TestServer, id: string): Promise<Array<{ type: string; data: Record<string, unknown> | null }>> => (await s.api('GET', `/v1/tasks/${id}/events`)).body.events;

  it('a resumed run stores only what is left of the cap; the continuation has a cap of its own', async () => {
    model = await startScriptedModel([
      { toolUse: { name: 'Bash', input: { command: 'echo draft > notes.txt', description: 'draft' } } },
      { toolUse: { name: 'Bash', input: { command: 'echo more >> notes.txt', description: 'more' } } },
      { toolUse: { name: TASK_TOOL_NAMES.requestClarification, input: { question: 'Green or blue?' } } },
      { finish: 'Asked.' },
      { toolUse: { name: 'Bash', input: { command: 'echo green > color.txt', description: 'colour' } } },
      { finish: 'Made it green.' },
      { toolUse: { name: 'Bash', input: { command: 'echo footer > footer.txt', description: 'footer' } } },
      { finish: 'Added the footer.' },
    ]);
    const s = (server = await startTestServer({
      dialect: 'sqlite',
      env: {
        GITHUB_API_URL: github.url,
        GITHUB_TOKEN: 'env:BGAGENT_E2E_CAP_GITHUB_TOKEN',
        ANTHROPIC_API_KEY: 'env:BGAGENT_E2E_CAP_MODEL_KEY',
        ANTHROPIC_BASE_URL: model.url,
        BGAGENT_MAX_OUTPUT_EVENTS_PER_TASK: String(CAP),
      },
    }));
    expect((await s.api('POST', '/v1/repos', { body: { name: 'acme/ui', clone_url: github.gitUrl('acme', 'ui'), agent: 'claude' } })).status).toBe(201);
    const id: string = (await s.api('POST', '/v1/tasks', { body: { repo: 'acme/ui', task: 'Restyle the button', max_turns: 20 } })).body.task.id;

    await ended(s, id, ['AWAITING_INPUT', 'FAILED', 'COMPLETED']);
    expect((await s.api('POST', `/v1/tasks/${id}/input`, { body: { text: 'Green' } })).body.outcome).toBe('answered');
    expect(await ended(s, id, ['COMPLETED', 'FAILED', 'CANCELLED', 'TIMED_OUT'])).toMatchObject({ status: 'COMPLETED' });

    const events = await eventsOf(s, id);
    // Both runs together store exactly the cap; each run that left some out says so once.
    expect(events.filter((e) => AGENT_EVENT_TYPES.includes(e.type))).toHaveLength(CAP);
    const answeredAt = events.findIndex((e) => e.type === 'input_answered');
    const capped = events.map((e, i) => ({ ...e, i })).filter((e) => e.type === 'agent_output_capped');
    expect(capped.length).toBeGreaterThanOrEqual(1);
    expect(capped.at(-1)!.i).toBeGreaterThan(answeredAt);
    for (const c of capped) expect(c.data).toMatchObject({ cap: CAP, dropped: expect.any(Number) });
    expect(events.map((e) => e.type)).toEqual(expect.arrayContaining(['input_requested', 'input_answered', 'session_started', 'agent_finished', 'pr_created', 'task_completed']));

    const next = (await s.api('POST', `/v1/tasks/${id}/input`, { body: { text: 'Also a footer' } })).body.task.id as string;
    expect(await ended(s, next, ['COMPLETED', 'FAILED', 'CANCELLED', 'TIMED_OUT'])).toMatchObject({ status: 'COMPLETED' });
    expect((await eventsOf(s, next)).filter((e) => AGENT_EVENT_TYPES.includes(e.type))).toHaveLength(CAP);
  });
});
