import { afterEach, describe, expect, it } from 'vitest';
import { startScriptedModel, type ScriptedModel } from '../support/anthropic/scripted-server.js';
import { agentSessionCreated, agentSessionPrompted } from '../support/linear/agent-session-webhooks.js';
import { TASK_TOOL_NAMES } from '../../src/agent/task-tools.js';
import { line, PUBLIC_URL, startSessionRig, type SessionRig } from './sessions.support.js';

const MODEL_KEY = 'sk-ant-test-sessions-key';

/** Delegating an issue to bgagent in Linear: the real server, the real Claude Code against a scripted model, the Linear and GitHub emulators. */
describe('a delegated issue shows its task as a live Linear agent session', () => {
  let rig: SessionRig | undefined;
  let model: ScriptedModel | undefined;
  afterEach(async () => {
    await rig?.destroy();
    await model?.close();
    rig = undefined;
    model = undefined;
  });

  it('a thought at once, the issue In Progress and linked to the task page, actions for the tool use, the PR, then a response with it', async () => {
    process.env.BGAGENT_SESSIONS_MODEL_KEY = MODEL_KEY;
    model = await startScriptedModel([
      { text: 'Fixing the button.', toolUse: { name: 'Bash', input: { command: 'echo fixed > FIX.md', description: 'write the fix' } } },
      { finish: 'Aligned the login button.' },
    ]);
    rig = await startSessionRig({
      env: { ANTHROPIC_API_KEY: 'env:BGAGENT_SESSIONS_MODEL_KEY', ANTHROPIC_BASE_URL: model.url, CLAUDE_CODE_MAX_RETRIES: '0', DISABLE_TELEMETRY: '1', CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1' },
    });
    // acme/demo (on the GitHub emulator, mapped to the rig's GitHub project) runs Claude Code here.
    const repo = await rig.server.api('POST', '/v1/repos', { body: { name: 'acme/demo', clone_url: rig.github.gitUrl('acme', 'demo'), agent: 'claude' } });
    expect(repo.status, JSON.stringify(repo.body)).toBe(200);
    const project = rig.githubProject;
    rig.emu.calls.length = 0;

    const { issue, session, deliveryId, sentAt } = await rig.delegate({ projectId: project.id });
    const first = await rig.activity(session, 'thought');
    // Measured, not asserted (timing goals live in bench/): the first sign of life after the webhook.
    console.info(`webhook → first thought: ${Date.parse(first.createdAt) - sentAt} ms`);
    expect(rig.activities(session)[0]).toBe(first);
    expect(first.content.body).toContain(issue.identifier);
    expect(rig.emu.calls[0]!.operationName).toBe('AgentActivityCreate');

    const outcome = JSON.parse((await rig.processed(deliveryId)).result!);
    expect(outcome.outcome).toBe('created');
    const task = await rig.ended(outcome.taskId);
    expect(task).toMatchObject({ status: 'COMPLETED', outcome: 'pr_opened', repo: 'acme/demo', channel_source: 'linear' });
    const response = await rig.activity(session, 'response');

    const lines = rig.activities(session).map(line);
    expect(lines).toContainEqual(expect.stringMatching(/^thought: Started in `acme\/demo`/));
    expect(lines).toContainEqual(expect.stringMatching(/^action: Running echo fixed > FIX.md → .*no output/));
    // An in-progress action is ephemeral, and superseded before it is sent when its result comes within the second.
    const inProgress = rig.activities(session).filter((a) => a.content.type === 'action' && a.content.result === undefined);
    expect(inProgress.every((a) => a.ephemeral)).toBe(true);
    expect(new Set(lines).size).toBe(lines.length);
    expect(lines).toContainEqual(`action: Opened pull request #${task.pr_number} → ${task.pr_url}`);
    expect(lines.at(-1)).toBe(line(response));
    expect(response.content.body).toContain(task.pr_url);
    expect(response.content.body).toContain('Aligned the login button.');
    expect(response.content.body).toMatch(/Cost \$\d+\.\d\d · Turns 2\/[^·]+ · Duration \d+s · Task `/);
    expect(rig.emu.state.agentSessions.get(session.id)!.status).toBe('complete');

    // The session links to the task's page; the issue moved to In Progress; the label path left no trace.
    expect(rig.emu.state.agentSessions.get(session.id)!.externalLink).toBe(`${PUBLIC_URL}/tasks/${task.id}`);
    expect(rig.stateOf(issue)).toBe('In Progress');
    expect(rig.comments(issue.id)).toEqual([]);
    expect(rig.reactions(issue.id)).toEqual([]);
    const metadata = (await rig.server.api('GET', `/v1/tasks/${task.id}`)).body.task.channel_metadata;
    expect(metadata).toMatchObject({ agentSessionId: session.id, workspaceId: rig.emu.seeded!.organization.id, issueId: issue.id, issueIdentifier: issue.identifier, projectId: project.id });

    // Every call bgagent made to Linear was counted on the task, and none was refused.
    expect(rig.emu.calls.every((c) => c.status === 200)).toBe(true);
    expect((await rig.task(task.id)).linear_calls).toBe(rig.emu.calls.length);
  }, 60_000);

  it("the agent's question is an elicitation; the reply resumes the task; a follow-up after the end continues on the same pull request", async () => {
    process.env.BGAGENT_SESSIONS_MODEL_KEY = MODEL_KEY;
    model = await startScriptedModel([
      { toolUse: { name: TASK_TOOL_NAMES.requestClarification, input: { question: 'Left or right aligned?' } } },
      { finish: 'Asked about the alignment.' },
      { toolUse: { name: 'Bash', input: { command: 'echo left > ALIGN.md', description: 'align' } } },
      { finish: 'Aligned the button to the left.' },
      { toolUse: { name: 'Bash', input: { command: 'echo blue > COLOR.md', description: 'colour' } } },
      { finish: 'Made it blue as well.' },
    ]);
    rig = await startSessionRig({
      env: { ANTHROPIC_API_KEY: 'env:BGAGENT_SESSIONS_MODEL_KEY', ANTHROPIC_BASE_URL: model.url, CLAUDE_CODE_MAX_RETRIES: '0', DISABLE_TELEMETRY: '1', CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1' },
    });
    await rig.server.api('POST', '/v1/repos', { body: { name: 'acme/demo', clone_url: rig.github.gitUrl('acme', 'demo'), agent: 'claude' } });
    const { session, deliveryId } = await rig.delegate({ projectId: rig.githubProject.id });
    const taskId: string = JSON.parse((await rig.processed(deliveryId)).result!).taskId;

    const question = await rig.activity(session, 'elicitation');
    expect(question.content.body).toBe('Left or right aligned?');
    expect((await rig.task(taskId)).status).toBe('AWAITING_INPUT');

    const answer = await rig.prompt(session, 'Left, please');
    expect(answer.outcome).toMatchObject({ outcome: 'forwarded', taskId, kind: 'answered' });
    const done = await rig.ended(taskId);
    expect(done).toMatchObject({ status: 'COMPLETED', outcome: 'pr_opened', summary: 'Aligned the button to the left.' });
    await rig.activity(session, 'response');

    const followUp = await rig.prompt(session, 'Make it blue too');
    expect(followUp.outcome).toMatchObject({ outcome: 'forwarded', kind: 'continued' });
    const next = await rig.ended(followUp.outcome.taskId);
    expect(next).toMatchObject({ status: 'COMPLETED', pr_number: done.pr_number, summary: 'Made it blue as well.' });
    expect(rig.github.state.pulls).toHaveLength(1);
    expect((await rig.activity(session, 'response', 2)).content.body).toContain('Made it blue as well.');
  }, 90_000);

  it('a created or a reply sent again (a new delivery id, a new timestamp) is acknowledged as a duplicate and makes no second task, thought or message', async () => {
    // One task at a time for ada, held by a labelled task: the session's task (Claude Code, which takes replies) stays queued.
    rig = await startSessionRig({ agentCommand: 'sleep 30', env: { BGAGENT_MAX_CONCURRENT_PER_USER: '1' } });
    await rig.server.api('POST', '/v1/repos', { body: { name: 'acme/demo', clone_url: rig.github.gitUrl('acme', 'demo'), agent: 'claude' } });
    const blocker = await rig.label();
    const { session, deliveryId } = await rig.delegate({ projectId: rig.githubProject.id });
    const first = JSON.parse((await rig.processed(deliveryId)).result!);
    expect(first.outcome).toBe('created');
    const issue = rig.emu.state.issues.get(session.issueId!)!;
    const again = agentSessionCreated(rig.emu.state, { issue, webhookTimestamp: Date.now() + 1 }).payload;
    (again.agentSession as { id: string }).id = session.id;
    expect((await rig.send(again)).body).toMatchObject({ status: 'duplicate' });

    const { payload: reply } = agentSessionPrompted(rig.emu.state, session, { body: 'Also the footer' });
    const sent = await rig.deliver(reply);
    expect(sent.outcome).toMatchObject({ outcome: 'forwarded', kind: 'delivered' });
    expect((await rig.send({ ...reply, webhookTimestamp: Date.now() + 1 })).body).toMatchObject({ status: 'duplicate' });

    expect(await rig.count('tasks')).toBe(2); // the labelled one and the session's
    expect((await rig.server.store.inputs.pending(first.taskId)).map((i) => i.text)).toEqual(['Also the footer']);
    expect(rig.activities(session).filter((a) => a.content.type === 'thought' && String(a.content.body).startsWith('Got it'))).toHaveLength(2);
    await rig.server.api('DELETE', `/v1/tasks/${blocker.taskId}`);
  });
});
