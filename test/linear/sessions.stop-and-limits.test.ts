import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../support/server.js';
import { captureLogs } from './capture-logs.js';
import { line, startSessionRig, type SessionRig } from './sessions.support.js';

describe('stopping a Linear agent session, and what a session may cost Linear', () => {
  let rig: SessionRig | undefined;
  afterEach(async () => {
    await rig?.destroy();
    rig = undefined;
  });

  it('stop cancels the running task within seconds and the session ends with a response that says who stopped it', async () => {
    rig = await startSessionRig({ agentCommand: 'echo working; sleep 30' });
    const { session, deliveryId } = await rig.delegate({ projectId: rig.project.id });
    const { taskId } = JSON.parse((await rig.processed(deliveryId)).result!);
    await waitFor(async () => ((await rig!.task(taskId)).status === 'RUNNING' ? true : undefined), 15_000, 'the agent to run');

    const askedAt = Date.now();
    const stop = await rig.prompt(session, '', 'stop');
    expect(stop.outcome).toEqual({ outcome: 'stopped', taskId });
    const task = await rig.ended(taskId);
    console.info(`stop → CANCELLED: ${Date.now() - askedAt} ms`);
    expect(task).toMatchObject({ status: 'CANCELLED', cancelled_by: 'ada' });
    const response = await rig.activity(session, 'response');
    expect(response.content.body).toMatch(/^Stopped by ada\./);
    const lines = rig.activities(session).map(line);
    expect(lines).toContain('thought: Got it — stopping.');
    expect(lines.at(-1)).toBe(line(response));
    expect(rig.emu.state.agentSessions.get(session.id)!.status).toBe('complete');
    const events = (await rig.server.api('GET', `/v1/tasks/${taskId}/events`)).body.events.map((e: { type: string }) => e.type);
    expect(events).toContain('task_cancelled');

    // A stop after the end changes nothing and says so.
    const late = await rig.prompt(session, '', 'stop');
    expect(late.outcome).toEqual({ outcome: 'stopped', taskId });
    expect((await rig.activity(session, 'response', 2)).content.body).toContain('had already ended (CANCELLED)');
    expect((await rig.task(taskId)).status).toBe('CANCELLED');
  });

  it('stop reaches the continuation a reply from the API started after the session\'s task ended', async () => {
    // One task at a time for ada, and a labelled task that holds it: the session's tasks wait in the queue.
    rig = await startSessionRig({ agentCommand: 'sleep 30', env: { BGAGENT_MAX_CONCURRENT_PER_USER: '1' } });
    await rig.server.api('POST', '/v1/repos', { body: { name: 'acme/demo', clone_url: rig.github.gitUrl('acme', 'demo'), agent: 'claude' } });
    const blocker = await rig.label();
    const { session, deliveryId } = await rig.delegate({ projectId: rig.githubProject.id });
    const { taskId } = JSON.parse((await rig.processed(deliveryId)).result!);
    expect((await rig.server.api('DELETE', `/v1/tasks/${taskId}`)).status).toBe(200);
    const input = await rig.server.api('POST', `/v1/tasks/${taskId}/input`, { body: { text: 'One more thing: the footer too.' } });
    expect(input.status, JSON.stringify(input.body)).toBe(201);
    const continuation = input.body.task.id;
    expect((await rig.task(continuation)).status).toBe('QUEUED');

    const stop = await rig.prompt(session, '', 'stop');
    expect(stop.outcome).toEqual({ outcome: 'stopped', taskId: continuation });
    expect(await rig.task(continuation)).toMatchObject({ status: 'CANCELLED', cancelled_by: 'ada' });
    const response = await rig.activity(session, 'response', 2);
    expect(response.content.body).toMatch(/^Stopped by ada\./);
    expect(rig.activities(session).map(line).at(-1)).toBe(line(response));
    await rig.server.api('DELETE', `/v1/tasks/${blocker.taskId}`);
  });

  it('a reply the agent cannot take is acknowledged and answered with the reason', async () => {
    rig = await startSessionRig({ agentCommand: 'sleep 3' });
    const { session, deliveryId } = await rig.delegate({ projectId: rig.project.id });
    const { taskId } = JSON.parse((await rig.processed(deliveryId)).result!);
    const reply = await rig.prompt(session, 'Also fix the footer');
    expect(reply.outcome).toMatchObject({ outcome: 'rejected', reason: 'CONFLICT' });
    const error = await rig.activity(session, 'error');
    expect(error.content.body).toContain('cannot take follow-ups');
    expect(rig.activities(session).map(line)).toContain('thought: Got it — passing this on.');
    expect((await rig.ended(taskId)).status).toBe('COMPLETED');
  });

  it('an agent that prints 400 lines produces a bounded number of activities, in order, the response last', async () => {
    rig = await startSessionRig({ agentCommand: 'for i in $(seq 1 400); do echo "line $i"; sleep 0.005; done' });
    const { session, deliveryId } = await rig.delegate({ projectId: rig.project.id });
    const { taskId } = JSON.parse((await rig.processed(deliveryId)).result!);
    const task = await rig.ended(taskId);
    expect(task.status).toBe('COMPLETED');
    const response = await rig.activity(session, 'response');
    const all = rig.activities(session);
    const events = (await rig.server.api('GET', `/v1/tasks/${taskId}/events?limit=1000`)).body.events.filter((e: { type: string }) => e.type === 'agent_output');
    expect(events.length).toBeGreaterThan(300);
    // At most one activity a second after the first, plus the first thought and the final word.
    const spanSeconds = (Date.parse(response.createdAt) - Date.parse(all[0]!.createdAt)) / 1000;
    console.info(`${events.length} output lines → ${all.length} activities over ${spanSeconds.toFixed(1)} s`);
    expect(all.length).toBeLessThanOrEqual(Math.ceil(spanSeconds) + 2);
    expect(all.at(-1)).toBe(response);
    expect(all.filter((a) => a.content.type === 'thought' && String(a.content.body).startsWith('line ')).every((a) => a.ephemeral)).toBe(true);
    expect(rig.emu.callsTo('AgentActivityCreate')).toHaveLength(all.length);
  });

  it('with the Linear circuit open a session makes no call at all and its task still completes; the skip is logged once', async () => {
    const logs = captureLogs();
    rig = await startSessionRig({ logger: logs.logger });
    expect((await rig.server.api('POST', '/v1/linear/team-repos', { body: { team_id: rig.emu.seeded!.team.id, repo: 'demo' } })).status).toBe(201);
    rig.emu.failNext({ kind: 'auth' }, { times: 'always' });
    const first = await rig.delegate({ projectId: null });
    const firstTask = JSON.parse((await rig.processed(first.deliveryId)).result!).taskId;
    expect((await rig.ended(firstTask)).status).toBe('COMPLETED');
    await waitFor(() => (logs.entries().some((e) => /suspending Linear calls/.test(e.msg)) ? true : undefined), 10_000, 'the circuit to open');
    rig.emu.clearFailures();
    rig.emu.calls.length = 0;

    const second = await rig.delegate({ projectId: null });
    const { taskId } = JSON.parse((await rig.processed(second.deliveryId)).result!);
    const task = await rig.ended(taskId);
    expect(task).toMatchObject({ status: 'COMPLETED', repo: 'demo', linear_calls: 0 });
    await new Promise((r) => setTimeout(r, 300));
    expect(rig.emu.calls).toEqual([]);
    expect(rig.activities(second.session)).toEqual([]);
    expect(logs.entries().filter((e) => /agent session activities are skipped/.test(e.msg))).toHaveLength(1);
  });
});
