import { afterEach, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import { line, startSessionRig, type SessionRig } from './sessions.support.js';

/** Which repository a delegated issue runs in, and who may delegate. */
describe('a Linear agent session picks its repository and its person', () => {
  let rig: SessionRig | undefined;
  afterEach(async () => {
    await rig?.destroy();
    rig = undefined;
  });

  it('no mapping: an elicitation lists the repositories, a reply that names none asks again, one that names a repository creates the task', async () => {
    rig = await startSessionRig();
    const { issue, session, deliveryId } = await rig.delegate({ projectId: null });
    expect(JSON.parse((await rig.processed(deliveryId)).result!)).toMatchObject({ outcome: 'asked' });
    const question = await rig.activity(session, 'elicitation');
    expect(question.content.body).toContain('- `demo`');
    expect(question.content.body).toContain('- `acme/demo`');
    expect(question.content.body).toContain('bgagent linear team-repo');
    expect(rig.emu.state.agentSessions.get(session.id)!.status).toBe('awaitingInput');
    expect(await rig.count('tasks')).toBe(0);

    const unclear = await rig.prompt(session, 'whichever you like');
    expect(unclear.outcome).toMatchObject({ outcome: 'asked' });
    expect((await rig.activity(session, 'elicitation', 2)).content.body).toMatch(/couldn't find one of the repositories/);

    const reply = await rig.prompt(session, 'Use acme/demo please.');
    expect(reply.outcome.outcome).toBe('created');
    const task = await rig.ended(reply.outcome.taskId);
    expect(task).toMatchObject({ status: 'COMPLETED', repo: 'acme/demo', outcome: 'pr_opened' });
    const response = await rig.activity(session, 'response');
    expect(response.content.body).toContain(task.pr_url);
    const lines = rig.activities(session).map(line);
    expect(lines.filter((l) => l.startsWith('thought: Got it'))).toHaveLength(3);
    expect(rig.stateOf(issue)).toBe('In Progress');
  });

  it('a team default runs the task there; the admin sets it with `bgagent linear team-repo`, and an unknown repository is refused clearly', async () => {
    rig = await startSessionRig();
    const teamId = rig.emu.seeded!.team.id;
    const env = { BGAGENT_URL: rig.server.url, BGAGENT_DATA_DIR: rig.server.dataDir };
    const unknown = await runCli(['linear', 'team-repo', teamId, 'acme/nope', '--json'], env);
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toContain('repository "acme/nope" is not onboarded; add it with: bgagent repo add acme/nope');
    expect((await rig.server.api('GET', '/v1/linear/team-repos')).body.team_repos).toEqual([]);

    const set = await runCli(['linear', 'team-repo', teamId, 'demo', '--json'], env);
    expect(set.code, set.stderr).toBe(0);
    expect(JSON.parse(set.stdout).team_repo).toMatchObject({ team_id: teamId, repo: 'demo' });
    const list = await runCli(['linear', 'team-repos'], env);
    expect(list.stdout).toMatch(new RegExp(`${teamId}\\s+demo`));

    // An unmapped project (and no project at all) fall back to the team's default; a mapped project wins.
    const inTeam = await rig.delegate({ projectId: null, stateName: 'Todo' });
    const outcome = JSON.parse((await rig.processed(inTeam.deliveryId)).result!);
    expect((await rig.ended(outcome.taskId)).repo).toBe('demo');
    expect(rig.stateOf(inTeam.issue)).toBe('In Progress');
    const mapped = await rig.delegate({ stateName: 'In Review' });
    const mappedOutcome = JSON.parse((await rig.processed(mapped.deliveryId)).result!);
    expect((await rig.ended(mappedOutcome.taskId)).repo).toBe('acme/demo');
    expect(rig.stateOf(mapped.issue)).toBe('In Review');

    const removed = await runCli(['linear', 'team-repo', teamId, '--remove'], env);
    expect(removed.code, removed.stderr).toBe(0);
    expect((await rig.server.api('GET', '/v1/linear/team-repos')).body.team_repos).toEqual([]);
  });

  it('a creator whose Linear account is not linked gets an error that says how to link, and no task', async () => {
    rig = await startSessionRig();
    const stranger = rig.emu.state.addUser({ name: 'Grace Hopper', email: 'grace@acme.test' });
    const { session, deliveryId } = await rig.delegate({ creator: stranger });
    expect(JSON.parse((await rig.processed(deliveryId)).result!)).toEqual({ outcome: 'rejected', reason: 'user not linked' });
    const error = await rig.activity(session, 'error');
    expect(error.content.body).toContain("Grace Hopper's Linear account isn't linked to a bgagent user");
    expect(error.content.body).toContain('bgagent linear link --linear-user');
    expect(rig.activities(session).map((a) => a.content.type)).toEqual(['thought', 'error']);
    expect(await rig.count('tasks')).toBe(0);

    // Linked later, a reply in the same session starts the work.
    expect((await rig.server.api('POST', '/v1/linear/links', { body: { linear_user: stranger.email, user: 'grace' } })).status).toBe(201);
    const retry = await rig.prompt(session, 'try again');
    expect(retry.outcome.outcome).toBe('created');
    expect((await rig.ended(retry.outcome.taskId)).status).toBe('COMPLETED');
  });
});
