import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { TASK_TOOL_NAMES } from '../../src/agent/task-tools.js';
import { startScriptedModel, type ScriptedModel, type ScriptTurn } from '../support/anthropic/scripted-server.js';
import { startGitHubEmulator, type GitHubEmulator } from '../support/github/emulator.js';
import { createBareRemote } from '../support/git-repos.js';
import { startTestServer, waitFor, type TestServer } from '../support/server.js';

const exec = promisify(execFile);
const PUSH_TOKEN = 'test-gh-token-input-e2e';

/** Follow-ups, questions and continuations through the real server, Claude Code and the GitHub emulator. */
describe('talking to a task’s agent', () => {
  let github: GitHubEmulator;
  let model: ScriptedModel | undefined;
  let server: TestServer | undefined;

  beforeAll(async () => {
    process.env.BGAGENT_E2E_INPUT_GITHUB_TOKEN = PUSH_TOKEN;
    process.env.BGAGENT_E2E_INPUT_MODEL_KEY = 'sk-ant-test-input-key';
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

  async function start(script: ScriptTurn[], env: Record<string, string> = {}): Promise<TestServer> {
    model = await startScriptedModel(script);
    server = await startTestServer({
      dialect: 'sqlite',
      env: {
        GITHUB_API_URL: github.url,
        GITHUB_TOKEN: 'env:BGAGENT_E2E_INPUT_GITHUB_TOKEN',
        ANTHROPIC_API_KEY: 'env:BGAGENT_E2E_INPUT_MODEL_KEY',
        ANTHROPIC_BASE_URL: model.url,
        ...env,
      },
    });
    expect((await server.api('POST', '/v1/repos', { body: { name: 'acme/ui', clone_url: github.gitUrl('acme', 'ui'), agent: 'claude' } })).status).toBe(201);
    return server;
  }

  const statusOf = async (s: TestServer, id: string, wanted: string[], what: string) =>
    waitFor(async () => {
      const { body } = await s.api('GET', `/v1/tasks/${id}`);
      return wanted.includes(body.task.status) ? body.task : undefined;
    }, 60_000, what);

  const fileOnBranch = async (branch: string, file: string) =>
    (await exec('git', ['--git-dir', github.state.repos['acme/ui']!.path, 'show', `${branch}:${file}`])).stdout;

  const eventTypes = async (s: TestServer, id: string): Promise<string[]> => (await s.api('GET', `/v1/tasks/${id}/events`)).body.events.map((e: { type: string }) => e.type);

  it('asks a question, waits without an agent, resumes with the answer, and a later follow-up continues on the same pull request', async () => {
    const s = await start([
      { toolUse: { name: 'Bash', input: { command: 'echo draft > notes.txt', description: 'draft' } } },
      { toolUse: { name: TASK_TOOL_NAMES.requestClarification, input: { question: 'Should the button be green or blue?' } } },
      { finish: 'I asked which colour; waiting for the answer.' },
      { toolUse: { name: 'Bash', input: { command: 'echo green > color.txt', description: 'colour' } } },
      { finish: 'Made the button green.' },
      { toolUse: { name: 'Bash', input: { command: 'echo footer > footer.txt', description: 'footer' } } },
      { finish: 'Added the footer.' },
    ]);
    const created = await s.api('POST', '/v1/tasks', { body: { repo: 'acme/ui', task: 'Restyle the button', max_turns: 20 } });
    const id: string = created.body.task.id;

    const waiting = await statusOf(s, id, ['AWAITING_INPUT', 'FAILED', 'COMPLETED'], 'the question');
    expect(waiting).toMatchObject({ status: 'AWAITING_INPUT', question: 'Should the button be green or blue?' });
    // The work so far is on the remote branch, so any worker can resume; no pull request yet.
    expect(await fileOnBranch(waiting.branch_name, 'notes.txt')).toBe('draft\n');
    expect(github.state.pulls).toHaveLength(0);
    // The run ends right after the status changes: no agent process or worker slot is held while it waits.
    await waitFor(() => (s.orchestrator.runningCount === 0 ? true : undefined), 10_000, 'the worker slot to be freed');

    const answered = await s.api('POST', `/v1/tasks/${id}/input`, { body: { text: 'Green, please' } });
    expect(answered.status).toBe(200);
    expect(answered.body.outcome).toBe('answered');

    const done = await statusOf(s, id, ['COMPLETED', 'FAILED', 'CANCELLED', 'TIMED_OUT'], 'the resumed task to end');
    expect(done).toMatchObject({ status: 'COMPLETED', outcome: 'pr_opened', summary: 'Made the button green.', question: null });
    expect(await fileOnBranch(done.branch_name, 'color.txt')).toBe('green\n');
    expect(github.state.pulls).toHaveLength(1);
    // The resumed agent had its earlier conversation: the question it asked, then the answer.
    const resumedRequest = JSON.stringify(model!.conversationRequests()[3]!.body);
    expect(resumedRequest).toContain('Should the button be green or blue?');
    expect(resumedRequest).toContain('Green, please');
    expect(await eventTypes(s, id)).toEqual(expect.arrayContaining(['input_requested', 'input_answered', 'pr_created', 'task_completed']));

    // After the end: a continuation on the same branch and pull request, resuming the same conversation.
    const followUp = await s.api('POST', `/v1/tasks/${id}/input`, { body: { text: 'Also add a footer' } });
    expect(followUp.status).toBe(201);
    expect(followUp.body).toMatchObject({ outcome: 'continued', task: { parent_task_id: id, branch_name: done.branch_name } });
    const next = await statusOf(s, followUp.body.task.id, ['COMPLETED', 'FAILED', 'CANCELLED', 'TIMED_OUT'], 'the continuation to end');
    expect(next).toMatchObject({ status: 'COMPLETED', pr_number: done.pr_number, summary: 'Added the footer.' });
    expect(github.state.pulls).toHaveLength(1);
    expect(await fileOnBranch(done.branch_name, 'footer.txt')).toBe('footer\n');
    expect(await fileOnBranch(done.branch_name, 'color.txt')).toBe('green\n');
    expect(JSON.stringify(model!.conversationRequests()[5]!.body)).toContain('Made the button green.');
    expect(await eventTypes(s, id)).toContain('task_continued');
  });

  it('a reply sent while the work is pushed before the wait answers the question; a follow-up sent during the final push is taken by a continuation', async () => {
    const s = await start([
      { toolUse: { name: 'Bash', input: { command: 'echo draft > notes.txt', description: 'draft' } } },
      { toolUse: { name: TASK_TOOL_NAMES.requestClarification, input: { question: 'Green or blue?' } } },
      { finish: 'Asked.' },
      { toolUse: { name: 'Bash', input: { command: 'echo green > color.txt', description: 'colour' } } },
      { finish: 'Made it green.' },
      { toolUse: { name: 'Bash', input: { command: 'echo footer > footer.txt', description: 'footer' } } },
      { finish: 'Added the footer.' },
    ]);
    const id: string = (await s.api('POST', '/v1/tasks', { body: { repo: 'acme/ui', task: 'Restyle the button', max_turns: 20 } })).body.task.id;
    // The question is on show (the agent's tool use) while the work in progress is pushed; then the final push.
    const sent: Array<{ status: string; outcome: string }> = [];
    const messages = ['Green, please', 'Also add a footer'];
    github.beforePush(async () => {
      const text = messages.shift();
      if (!text) return;
      const status: string = (await s.api('GET', `/v1/tasks/${id}`)).body.task.status;
      sent.push({ status, outcome: (await s.api('POST', `/v1/tasks/${id}/input`, { body: { text } })).body.outcome });
    });
    try {
      const done = await statusOf(s, id, ['COMPLETED', 'FAILED', 'CANCELLED', 'TIMED_OUT'], 'the task to end');
      expect(sent).toEqual([
        { status: 'RUNNING', outcome: 'delivered' },
        { status: 'FINALIZING', outcome: 'delivered' },
      ]);
      expect(done).toMatchObject({ status: 'COMPLETED', outcome: 'pr_opened', summary: 'Made it green.' });
      expect(await eventTypes(s, id)).toEqual(expect.arrayContaining(['input_requested', 'input_answered']));
      expect(JSON.stringify(model!.conversationRequests()[3]!.body)).toContain('Green, please');

      const continued = await waitFor(async () => {
        const { body } = await s.api('GET', `/v1/tasks/${id}/events`);
        return body.events.find((e: { type: string }) => e.type === 'task_continued');
      }, 20_000, 'the late follow-up to continue the task');
      const next = await statusOf(s, continued.data.taskId, ['COMPLETED', 'FAILED', 'CANCELLED', 'TIMED_OUT'], 'the continuation to end');
      expect(next).toMatchObject({ status: 'COMPLETED', parent_task_id: id, pr_number: done.pr_number, summary: 'Added the footer.' });
      expect(next.task_description).toMatch(/^Also add a footer\n/);
      expect(await fileOnBranch(done.branch_name, 'footer.txt')).toBe('footer\n');
      expect(github.state.pulls.filter((p) => p.head === done.branch_name)).toHaveLength(1);
    } finally {
      github.beforePush(undefined);
    }
  });

  it('the time from the question until the agent resumes, queue included, does not count against the time limit', async () => {
    const s = await start(
      [
        { toolUse: { name: TASK_TOOL_NAMES.requestClarification, input: { question: 'Which file?' } } },
        { finish: 'Asked.' },
        { toolUse: { name: 'Bash', input: { command: 'echo x > x.txt', description: 'x' } } },
        { finish: 'Done.' },
      ],
      { BGAGENT_MAX_CONCURRENT_PER_USER: '1' },
    );
    const remote = createBareRemote();
    await s.api('POST', '/v1/repos', { body: { name: 'acme/slow', clone_url: remote.url, agent: 'command', agent_settings: { command: 'sleep 2' } } });
    const id: string = (await s.api('POST', '/v1/tasks', { body: { repo: 'acme/ui', task: 'Write x' } })).body.task.id;
    const asked = await statusOf(s, id, ['AWAITING_INPUT'], 'the question');
    const other: string = (await s.api('POST', '/v1/tasks', { body: { repo: 'acme/slow', task: 'Take the slot' } })).body.task.id;
    await statusOf(s, other, ['RUNNING'], 'the other task to hold the only slot');
    expect((await s.api('POST', `/v1/tasks/${id}/input`, { body: { text: 'x.txt' } })).body.outcome).toBe('answered');
    await statusOf(s, id, ['QUEUED'], 'the answered task to queue behind it');

    const done = await statusOf(s, id, ['COMPLETED', 'FAILED', 'CANCELLED', 'TIMED_OUT'], 'the resumed task to end');
    expect(done.status).toBe('COMPLETED');
    const slotFreedAt = Date.parse((await statusOf(s, other, ['COMPLETED', 'FAILED'], 'the other task to end')).finished_at);
    const task = (await s.store.tasks.get(id))!;
    expect(task.inputWaitMs).toBeGreaterThanOrEqual(slotFreedAt - Date.parse(asked.question_asked_at));
    expect(task.questionAskedAt).toBeNull();
  });

  it('fails a question nobody answers in time with what to do; cancelling a waiting task ends it', async () => {
    const ask = (q: string): ScriptTurn[] => [
      { toolUse: { name: TASK_TOOL_NAMES.requestClarification, input: { question: q } } },
      { finish: 'Waiting.' },
    ];
    const s = await start([...ask('Which file?'), ...ask('Which colour?')], { BGAGENT_INPUT_TIMEOUT_SECONDS: '2' });
    const first = (await s.api('POST', '/v1/tasks', { body: { repo: 'acme/ui', task: 'Tidy up' } })).body.task.id;
    await statusOf(s, first, ['AWAITING_INPUT'], 'the first question');
    const timedOut = await statusOf(s, first, ['FAILED'], 'the question to time out');
    expect(timedOut).toMatchObject({ error_code: 'INPUT_TIMED_OUT' });
    expect(timedOut.error_message).toMatch(/nobody answered the agent's question within 2 s; reply to go on/);

    const second = (await s.api('POST', '/v1/tasks', { body: { repo: 'acme/ui', task: 'Recolour' } })).body.task.id;
    await statusOf(s, second, ['AWAITING_INPUT'], 'the second question');
    const cancelled = await s.api('DELETE', `/v1/tasks/${second}`);
    expect(cancelled.body.task).toMatchObject({ status: 'CANCELLED', cancelled_by: 'admin' });
  });

  it('refuses bad input and a follow-up for an agent that cannot take one, and changes nothing', async () => {
    const s = await start([]);
    const remote = createBareRemote();
    await s.api('POST', '/v1/repos', { body: { name: 'acme/cmd', clone_url: remote.url, agent: 'command', agent_settings: { command: 'sleep 30' } } });
    const task = (await s.api('POST', '/v1/tasks', { body: { repo: 'acme/cmd', task: 'Wait' } })).body.task;
    await statusOf(s, task.id, ['RUNNING'], 'the command to run');

    const refused = await s.api('POST', `/v1/tasks/${task.id}/input`, { body: { text: 'and also this' } });
    expect(refused.status).toBe(409);
    expect(refused.body.error.message).toMatch(/runs the "command" agent, which cannot take follow-ups/);
    const empty = await s.api('POST', `/v1/tasks/${task.id}/input`, { body: { text: '   ' } });
    expect(empty.status).toBe(400);
    const extra = await s.api('POST', `/v1/tasks/${task.id}/input`, { body: { text: 'x', author: 'someone else' } });
    expect(extra.status).toBe(400);
    const unknown = await s.api('POST', '/v1/tasks/01JUNKNOWNTASK0000000000000/input', { body: { text: 'hello' } });
    expect(unknown.status).toBe(404);
    expect(await eventTypes(s, task.id)).not.toContain('input_received');
    expect(await s.store.inputs.pending(task.id)).toEqual([]);
    await s.api('DELETE', `/v1/tasks/${task.id}`);
  });

  // BGAGENT_MAX_OUTPUT_EVENTS_PER_TASK counts over all of a task's runs (a resumed run goes on counting); a continuation starts afresh.
  const AGENT_EVENT_TYPES = ['agent_message', 'tool_use', 'tool_result', 'agent_output', 'progress'];
  const CAP = 3;
  const eventsOf = async (s: TestServer, id: string): Promise<Array<{ type: string; data: Record<string, unknown> | null }>> => (await s.api('GET', `/v1/tasks/${id}/events`)).body.events;

  it('the agent event cap: a resumed run stores only what is left of it; the continuation has a cap of its own', async () => {
    const s = await start([
      { toolUse: { name: 'Bash', input: { command: 'echo draft > notes.txt', description: 'draft' } } },
      { toolUse: { name: 'Bash', input: { command: 'echo more >> notes.txt', description: 'more' } } },
      { toolUse: { name: TASK_TOOL_NAMES.requestClarification, input: { question: 'Green or blue?' } } },
      { finish: 'Asked.' },
      { toolUse: { name: 'Bash', input: { command: 'echo green > color.txt', description: 'colour' } } },
      { finish: 'Made it green.' },
      { toolUse: { name: 'Bash', input: { command: 'echo footer > footer.txt', description: 'footer' } } },
      { finish: 'Added the footer.' },
    ], { BGAGENT_MAX_OUTPUT_EVENTS_PER_TASK: String(CAP) });
    const id: string = (await s.api('POST', '/v1/tasks', { body: { repo: 'acme/ui', task: 'Restyle the button', max_turns: 20 } })).body.task.id;

    await statusOf(s, id, ['AWAITING_INPUT', 'FAILED', 'COMPLETED'], 'the question');
    expect((await s.api('POST', `/v1/tasks/${id}/input`, { body: { text: 'Green' } })).body.outcome).toBe('answered');
    expect(await statusOf(s, id, ['COMPLETED', 'FAILED', 'CANCELLED', 'TIMED_OUT'], 'the end of the resumed run')).toMatchObject({ status: 'COMPLETED' });

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
    expect(await statusOf(s, next, ['COMPLETED', 'FAILED', 'CANCELLED', 'TIMED_OUT'], 'the end of the continuation')).toMatchObject({ status: 'COMPLETED' });
    expect((await eventsOf(s, next)).filter((e) => AGENT_EVENT_TYPES.includes(e.type))).toHaveLength(CAP);
  });
});
