import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startInboundRig, type InboundRig } from '../linear/inbound.support.js';

describe('channel fields are set by the platform only', () => {
  let rig: InboundRig;
  let userToken: string;
  beforeAll(async () => {
    rig = await startInboundRig();
    userToken = (await rig.server.api('POST', '/v1/tokens', { body: { user: 'mallory' } })).body.token;
  });
  afterAll(async () => {
    await rig?.destroy();
  });

  it('refuses channel_source and channel_metadata in POST /v1/tasks, writes nothing and never calls Linear', async () => {
    const issue = rig.emu.state.addIssue({ title: 'Another team’s issue', projectId: rig.project.id });
    const metadata = { issueId: issue.id, issueIdentifier: issue.identifier, issueUrl: 'https://evil.example/x', workspaceId: rig.emu.seeded!.organization.id };
    rig.emu.calls.length = 0;
    const res = await rig.server.api('POST', '/v1/tasks', { token: userToken, body: { repo: 'demo', task: 'x', channel_source: 'linear', channel_metadata: metadata } });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('VALIDATION_ERROR');
    expect(res.body.error.message).toContain('channel_source');
    expect(res.body.error.message).toContain('channel_metadata');
    expect(await rig.count('tasks')).toBe(0);
    // Long enough for a created task's reaction on the issue (the worker ticks every 200 ms).
    await new Promise((r) => setTimeout(r, 1500));
    expect(rig.emu.calls).toEqual([]);
    expect(rig.reactions(issue.id)).toEqual([]);
  });

  it('labels a REST task api, and cli only for the CLI marker, whatever else the header says', async () => {
    const submit = (client?: string) =>
      rig.server.api('POST', '/v1/tasks', { token: userToken, body: { repo: 'demo', task: 'x' }, headers: client ? { 'x-bgagent-client': client } : {} });
    expect((await submit()).body.task.channel_source).toBe('api');
    expect((await submit('cli')).body.task.channel_source).toBe('cli');
    expect((await submit('linear')).body.task.channel_source).toBe('api');
  });
});
