import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  addReaction,
  findUser,
  getIssueContext,
  getProject,
  getViewer,
  listIssueReactions,
  moveIssueToState,
  postComment,
  removeReaction,
} from '../../src/linear/api.js';
import { LinearClient, type LinearCallOutcome } from '../../src/linear/client.js';
import { LinearApiError } from '../../src/linear/errors.js';
import { startLinearEmulator, type LinearEmulator } from '../support/linear/emulator.js';

describe('LinearClient and the API helpers against the emulator', () => {
  let emu: LinearEmulator;
  let client: LinearClient;
  const outcomes: Array<[string, LinearCallOutcome]> = [];

  beforeAll(async () => {
    emu = await startLinearEmulator();
    client = new LinearClient({ apiUrl: emu.url, getToken: async () => emu.seeded!.apiKey, onCall: (op, outcome) => outcomes.push([op, outcome]) });
  });
  afterAll(async () => {
    await emu.close();
  });

  it('reads the viewer with the API key sent as the raw Authorization header', async () => {
    const viewer = await getViewer(client);
    expect(viewer).toMatchObject({ id: emu.seeded!.viewer.id, name: 'bgagent', organization: { id: emu.seeded!.organization.id, urlKey: 'acme' } });
    expect(emu.callsTo('Viewer').at(-1)).toMatchObject({ status: 200, viewerId: emu.seeded!.viewer.id, variables: {} });
    expect(outcomes.at(-1)).toEqual(['Viewer', 'ok']);
  });

  it('sends an OAuth token as Bearer', async () => {
    const app = emu.state.addUser({ name: 'bgagent app', app: true });
    emu.state.addAccessToken('oauth-access-1', app.id);
    const oauth = new LinearClient({ apiUrl: emu.url, getToken: async () => 'oauth-access-1', tokenType: 'oauth' });
    expect((await getViewer(oauth)).id).toBe(app.id);
  });

  it('runs the lifecycle operations on an issue and Linear’s state follows', async () => {
    const s = emu.seeded!;
    const project = emu.state.addProject({ name: 'Web' });
    const issue = emu.state.addIssue({ title: 'Add dark mode', description: 'Please', projectId: project.id, labelIds: [s.label.id] });
    emu.state.addComment({ issueId: issue.id, body: 'Use the system setting', userId: s.human.id });

    const ctx = await getIssueContext(client, issue.identifier);
    expect(ctx).toMatchObject({
      id: issue.id,
      identifier: issue.identifier,
      title: 'Add dark mode',
      description: 'Please',
      state: { name: 'Backlog', type: 'backlog' },
      team: { key: 'ENG' },
      project: { id: project.id, name: 'Web' },
      labels: { nodes: [{ id: s.label.id, name: 'bgagent' }] },
      comments: { nodes: [{ body: 'Use the system setting', user: { id: s.human.id, name: 'Ada Lovelace' } }] },
    });
    expect(ctx.team.states.nodes.map((st) => st.name)).toEqual(['Backlog', 'Todo', 'In Progress', 'In Review', 'Done', 'Canceled']);
    expect(ctx.url).toMatch(/^https:\/\/linear\.app\/acme\/issue\//);

    const eyes = await addReaction(client, issue.id, 'eyes');
    const comment = await postComment(client, issue.id, '🤖 Starting');
    const state = await moveIssueToState(client, issue.id, ctx.team.states.nodes.find((st) => st.name === 'In Progress')!.id);
    expect(state).toMatchObject({ name: 'In Progress', type: 'started' });
    expect(comment.id).toBe(emu.state.commentsOn(issue.id).at(-1)!.id);
    expect(await listIssueReactions(client, issue.id)).toEqual([{ id: eyes.id, emoji: 'eyes', createdAt: expect.any(String), userId: s.viewer.id }]);
    expect(await removeReaction(client, eyes.id)).toBe(true);
    expect(emu.state.reactionsOn({ issueId: issue.id })).toEqual([]);
    expect(emu.calls.slice(-6).map((c) => c.operationName)).toEqual(['IssueContext', 'ReactionCreate', 'CommentCreate', 'IssueUpdateState', 'IssueReactions', 'ReactionDelete']);
  });

  it('finds projects and users, and says undefined for unknown ones', async () => {
    const project = emu.state.addProject({ name: 'API' });
    expect(await getProject(client, project.id)).toMatchObject({ id: project.id, name: 'API', teams: { nodes: [{ key: 'ENG' }] } });
    expect(await getProject(client, 'no-such-project')).toBeUndefined();
    expect(await findUser(client, 'ADA@acme.test')).toMatchObject({ id: emu.seeded!.human.id, displayName: 'ada' });
    expect(await findUser(client, emu.seeded!.human.id)).toMatchObject({ email: 'ada@acme.test' });
    expect(await findUser(client, 'nobody@acme.test')).toBeUndefined();
    expect(await findUser(client, 'no-such-id')).toBeUndefined();
  });

  it('throws a LinearApiError with Linear’s code for a refused request, without retrying it', async () => {
    const issue = emu.state.addIssue({ title: 'Refused' });
    const before = emu.calls.length;
    const err = await moveIssueToState(client, issue.id, 'not-a-state').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LinearApiError);
    expect(err).toMatchObject({ code: 'INPUT_ERROR', status: 200, operationName: 'IssueUpdateState' });
    expect(emu.calls.length - before).toBe(1);
    expect(outcomes.at(-1)).toEqual(['IssueUpdateState', 'graphql_error']);
  });
});
