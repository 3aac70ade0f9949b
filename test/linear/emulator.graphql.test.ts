import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_API_KEY, startLinearEmulator, type LinearEmulator } from '../support/linear/emulator.js';

async function post(emu: LinearEmulator, query: string, variables: Record<string, unknown> = {}, authorization: string | null = DEFAULT_API_KEY) {
  const res = await fetch(emu.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  const text = await res.text();
  const body = (res.headers.get('content-type')?.startsWith('application/json') ? JSON.parse(text) : { text }) as { data?: any; errors?: any[]; text?: string };
  return { status: res.status, headers: res.headers, body };
}

describe('Linear emulator', () => {
  let emu: LinearEmulator;
  beforeAll(async () => {
    emu = await startLinearEmulator();
  });
  afterAll(async () => {
    await emu.close();
  });

  it('rejects a document that is not valid against the schema, with GraphQL validation errors', async () => {
    const { status, body } = await post(emu, 'query Bad { viewer { id nickname } issue { id } }');
    expect(status).toBe(400);
    expect(body.errors?.map((e) => e.extensions.code)).toEqual(['GRAPHQL_VALIDATION_FAILED', 'GRAPHQL_VALIDATION_FAILED']);
    expect(body.errors?.map((e) => e.message)).toEqual([
      expect.stringMatching(/Cannot query field "nickname" on type "User"/),
      expect.stringMatching(/argument "id" of type "String!" is required/),
    ]);
    expect(emu.callsTo('Bad').at(-1)?.status).toBe(400);
  });

  it('answers an unknown key with Linear’s AUTHENTICATION_ERROR', async () => {
    for (const authorization of ['lin_api_unknown', null, `Bearer ${DEFAULT_API_KEY}`]) {
      const { status, body } = await post(emu, 'query Viewer { viewer { id } }', {}, authorization);
      expect(status).toBe(401);
      expect(body.errors?.[0]?.extensions).toMatchObject({ code: 'AUTHENTICATION_ERROR', type: 'authentication error' });
    }
  });

  it('accepts OAuth access tokens as Bearer tokens', async () => {
    const app = emu.state.addUser({ name: 'bgagent app', app: true });
    emu.state.addAccessToken('oauth-token-1', app.id);
    const { body } = await post(emu, 'query Viewer { viewer { id app isMe } }', {}, 'Bearer oauth-token-1');
    expect(body.data.viewer).toEqual({ id: app.id, app: true, isMe: true });
  });

  it('serves the seeded workspace: viewer, organization, team states by position, labels, users by email', async () => {
    const s = emu.seeded!;
    const { status, headers, body } = await post(
      emu,
      `query Q($team: String!) {
        viewer { id name organization { id urlKey } }
        team(id: $team) { key states { nodes { name type position } } }
        issueLabels(filter: { name: { eqIgnoreCase: "BGAGENT" } }) { nodes { id name } }
        users(filter: { email: { eq: "ada@acme.test" } }) { nodes { id displayName } }
      }`,
      { team: s.team.id },
    );
    expect(status).toBe(200);
    expect(headers.get('x-ratelimit-requests-limit')).toBe('5000');
    expect(Number(headers.get('x-ratelimit-requests-reset'))).toBeGreaterThan(Date.now());
    expect(body.data.viewer).toEqual({ id: s.viewer.id, name: 'bgagent', organization: { id: s.organization.id, urlKey: 'acme' } });
    expect(body.data.team.states.nodes.map((n: { name: string; type: string }) => `${n.name}:${n.type}`)).toEqual([
      'Backlog:backlog',
      'Todo:unstarted',
      'In Progress:started',
      'In Review:started',
      'Done:completed',
      'Canceled:canceled',
    ]);
    expect(body.data.issueLabels.nodes).toEqual([{ id: s.label.id, name: 'bgagent' }]);
    expect(body.data.users.nodes).toEqual([{ id: s.human.id, displayName: 'ada' }]);
  });

  it('fills fields it does not model with defaults, so any valid document executes', async () => {
    const issue = emu.state.addIssue({ title: 'Defaults' });
    const { status, body } = await post(emu, 'query Q($id: String!) { issue(id: $id) { id estimate boardOrder trashed cycle { id } subscribers { nodes { id } } } }', { id: issue.id });
    expect(status).toBe(200);
    expect(body.errors).toBeUndefined();
    expect(body.data.issue).toEqual({ id: issue.id, estimate: null, boardOrder: 0, trashed: null, cycle: null, subscribers: { nodes: [] } });
  });

  it('changes state through mutations: comments, reactions, workflow state', async () => {
    const s = emu.seeded!;
    const project = emu.state.addProject({ name: 'Platform' });
    const issue = emu.state.addIssue({ title: 'Fix the login page', description: 'It 500s', projectId: project.id, labelIds: [s.label.id] });
    expect(issue.identifier).toMatch(/^ENG-\d+$/);

    const comment = await post(emu, 'mutation C($i: String!) { commentCreate(input: { issueId: $i, body: "Starting" }) { success comment { id body user { id } } } }', { i: issue.identifier });
    expect(comment.body.data.commentCreate).toMatchObject({ success: true, comment: { body: 'Starting', user: { id: s.viewer.id } } });
    expect(emu.state.commentsOn(issue.id).map((c) => c.body)).toEqual(['Starting']);

    const reaction = await post(emu, 'mutation R($i: String!) { reactionCreate(input: { issueId: $i, emoji: "eyes" }) { success reaction { id emoji } } }', { i: issue.id });
    const reactionId = reaction.body.data.reactionCreate.reaction.id as string;
    expect(emu.state.reactionsOn({ issueId: issue.id })).toEqual([expect.objectContaining({ id: reactionId, emoji: 'eyes', userId: s.viewer.id })]);

    const moved = await post(emu, 'mutation U($i: String!, $s: String!) { issueUpdate(id: $i, input: { stateId: $s }) { success issue { state { name } } } }', {
      i: issue.id,
      s: s.states['In Progress']!.id,
    });
    expect(moved.body.data.issueUpdate).toEqual({ success: true, issue: { state: { name: 'In Progress' } } });
    expect(emu.state.issues.get(issue.id)?.stateId).toBe(s.states['In Progress']!.id);

    const deleted = await post(emu, 'mutation D($id: String!) { reactionDelete(id: $id) { success entityId } }', { id: reactionId });
    expect(deleted.body.data.reactionDelete).toEqual({ success: true, entityId: reactionId });
    expect(emu.state.reactionsOn({ issueId: issue.id })).toEqual([]);
  });

  it('refuses to delete another user’s reaction and a state from another team', async () => {
    const s = emu.seeded!;
    const issue = emu.state.addIssue({ title: 'Guarded' });
    const theirs = emu.state.addReaction({ issueId: issue.id, emoji: 'eyes', userId: s.human.id });
    const del = await post(emu, 'mutation D($id: String!) { reactionDelete(id: $id) { success } }', { id: theirs.id });
    expect(del.body.errors?.[0]?.extensions.code).toBe('FORBIDDEN');
    expect(emu.state.reactions.has(theirs.id)).toBe(true);

    const other = emu.state.addTeam({ key: 'OPS' });
    const foreign = emu.state.teamStates(other.id)[2]!;
    const upd = await post(emu, 'mutation U($i: String!, $s: String!) { issueUpdate(id: $i, input: { stateId: $s }) { success } }', { i: issue.id, s: foreign.id });
    expect(upd.body.errors?.[0]?.extensions).toMatchObject({ code: 'INPUT_ERROR', type: 'invalid input' });
    expect(emu.state.issues.get(issue.id)?.stateId).toBe(s.states.Backlog!.id);
  });

  it('answers an unknown id the way Linear does', async () => {
    const { body } = await post(emu, 'query Q { project(id: "nope") { id } }');
    expect(body.data).toBeNull();
    expect(body.errors?.[0]).toMatchObject({ message: 'Entity not found: Project', extensions: { code: 'INPUT_ERROR', userPresentableMessage: 'Could not find referenced Project.' } });
  });

  it('records agent activities and moves the session status', async () => {
    const s = emu.seeded!;
    const issue = emu.state.addIssue({ title: 'Delegated' });
    const session = emu.state.addAgentSession({ issueId: issue.id, appUserId: s.viewer.id, creatorId: s.human.id });
    const mutate = (content: Record<string, unknown>) =>
      post(emu, 'mutation A($input: AgentActivityCreateInput!) { agentActivityCreate(input: $input) { success agentActivity { id content { __typename ... on AgentActivityThoughtContent { body } } } } }', {
        input: { agentSessionId: session.id, content },
      });
    const thought = await mutate({ type: 'thought', body: 'Looking at the issue' });
    expect(thought.body.data.agentActivityCreate.agentActivity.content).toEqual({ __typename: 'AgentActivityThoughtContent', body: 'Looking at the issue' });
    expect(session.status).toBe('active');
    const bad = await mutate({ type: 'action', action: 'Editing' });
    expect(bad.body.errors?.[0]?.extensions.code).toBe('INPUT_ERROR');
    await mutate({ type: 'response', body: 'Done: PR #1' });
    expect(session.status).toBe('complete');
    expect(emu.state.activitiesOf(session.id).map((a) => a.content.type)).toEqual(['thought', 'response']);

    const upd = await post(emu, 'mutation S($id: String!, $input: AgentSessionUpdateInput!) { agentSessionUpdate(id: $id, input: $input) { success agentSession { externalLink } } }', {
      id: session.id,
      input: { externalLink: 'http://127.0.0.1/tasks/1' },
    });
    expect(upd.body.data.agentSessionUpdate.agentSession.externalLink).toBe('http://127.0.0.1/tasks/1');
  });

  it('fails on request: HTTP 5xx, auth, rate limit with headers, only for the named operation', async () => {
    emu.failNext({ kind: 'http', status: 502 }, { times: 2 });
    expect((await post(emu, 'query Viewer { viewer { id } }')).status).toBe(502);
    expect((await post(emu, 'query Viewer { viewer { id } }')).status).toBe(502);
    expect((await post(emu, 'query Viewer { viewer { id } }')).status).toBe(200);

    emu.failNext({ kind: 'auth' });
    expect((await post(emu, 'query Viewer { viewer { id } }')).body.errors?.[0]?.extensions.code).toBe('AUTHENTICATION_ERROR');

    emu.failNext({ kind: 'ratelimited', resetInMs: 5000 }, { operationName: 'Other' });
    expect((await post(emu, 'query Viewer { viewer { id } }')).status).toBe(200);
    const before = Date.now();
    const limited = await post(emu, 'query Other { viewer { id } }');
    expect(limited.status).toBe(400);
    expect(limited.body.errors?.[0]?.extensions.code).toBe('RATELIMITED');
    expect(limited.headers.get('x-ratelimit-requests-remaining')).toBe('0');
    expect(Number(limited.headers.get('x-ratelimit-requests-reset'))).toBeGreaterThanOrEqual(before + 5000);
    expect(emu.callsTo('Other').map((c) => c.failure)).toEqual(['ratelimited']);
  });
});
