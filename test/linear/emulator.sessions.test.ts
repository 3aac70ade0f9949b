import { afterEach, describe, expect, it } from 'vitest';
import { agentSessionCreated, agentSessionPrompted } from '../support/linear/agent-session-webhooks.js';
import { startLinearEmulator, type LinearEmulator } from '../support/linear/emulator.js';

const CREATE = 'mutation A($input: AgentActivityCreateInput!) { agentActivityCreate(input: $input) { success agentActivity { id ephemeral } } }';
const UPDATE = 'mutation S($id: String!, $input: AgentSessionUpdateInput!) { agentSessionUpdate(id: $id, input: $input) { success } }';

async function post(emu: LinearEmulator, query: string, variables: Record<string, unknown>, auth = emu.seeded!.apiKey) {
  const res = await fetch(emu.url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: auth }, body: JSON.stringify({ query, variables }) });
  return (await res.json()) as { data?: any; errors?: Array<{ message: string; extensions: { code: string } }> };
}

describe('the Linear emulator’s agent sessions', () => {
  let emu: LinearEmulator | undefined;
  afterEach(async () => {
    await emu?.close();
    emu = undefined;
  });

  it('takes every activity type bgagent posts, keeps ephemeral ones, and moves the session status with the last one', async () => {
    emu = await startLinearEmulator();
    const issue = emu.state.addIssue({ title: 'x' });
    const { session, payload } = agentSessionCreated(emu.state, { issue });
    expect(payload).toMatchObject({ type: 'AgentSessionEvent', action: 'created', organizationId: emu.state.organization.id, agentSession: { id: session.id, issue: { id: issue.id, identifier: issue.identifier }, creator: { id: emu.seeded!.human.id } } });
    expect(String(payload.promptContext)).toContain(`<issue identifier="${issue.identifier}">`);
    const contents = [
      [{ type: 'thought', body: 'Looking' }, true, 'active'],
      [{ type: 'action', action: 'Running', parameter: 'npm test' }, true, 'active'],
      [{ type: 'action', action: 'Running', parameter: 'npm test', result: 'ok' }, false, 'active'],
      [{ type: 'elicitation', body: 'Which repo?' }, false, 'awaitingInput'],
      [{ type: 'error', body: 'Failed' }, false, 'error'],
      [{ type: 'response', body: 'Done' }, false, 'complete'],
    ] as const;
    for (const [content, ephemeral, status] of contents) {
      const r = await post(emu, CREATE, { input: { agentSessionId: session.id, content, ...(ephemeral ? { ephemeral } : {}) } });
      expect(r.errors).toBeUndefined();
      expect(r.data.agentActivityCreate.agentActivity.ephemeral).toBe(ephemeral);
      expect(emu.state.agentSessions.get(session.id)!.status).toBe(status);
    }
    expect(emu.state.activitiesOf(session.id)).toHaveLength(contents.length);
    const prompted = agentSessionPrompted(emu.state, session, { body: '', signal: 'stop' });
    expect(prompted.payload).toMatchObject({ action: 'prompted', agentActivity: { content: { type: 'prompt', body: '' }, signal: 'stop', userId: emu.seeded!.human.id } });
  });

  it('refuses what Linear refuses: an ephemeral response, a prompt from the agent, an action without parameter, another user’s session', async () => {
    emu = await startLinearEmulator();
    const { session } = agentSessionCreated(emu.state, { issue: emu.state.addIssue({ title: 'x' }) });
    const refused = async (input: Record<string, unknown>, auth?: string) => (await post(emu!, CREATE, { input: { agentSessionId: session.id, ...input } }, auth)).errors?.[0]?.message;
    expect(await refused({ content: { type: 'response', body: 'x' }, ephemeral: true })).toMatch(/Only thought and action activities can be ephemeral/);
    expect(await refused({ content: { type: 'prompt', body: 'x' } })).toMatch(/content.type must be/);
    expect(await refused({ content: { type: 'action', action: 'Running' } })).toMatch(/needs action and parameter/);
    expect(await refused({ content: { type: 'thought', body: '  ' } })).toMatch(/needs a body/);
    const other = emu.state.addUser({ name: 'Other app' });
    emu.state.addApiKey('lin_api_other', other.id);
    expect(await refused({ content: { type: 'thought', body: 'x' } }, 'lin_api_other')).toMatch(/Only the agent the session belongs to/);
    expect((await post(emu, UPDATE, { id: session.id, input: { externalLink: 'https://x' } }, 'lin_api_other')).errors?.[0]?.extensions.code).toBe('FORBIDDEN');
    expect(emu.state.activitiesOf(session.id)).toEqual([]);
  });
});
