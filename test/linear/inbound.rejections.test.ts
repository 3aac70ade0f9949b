import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { linearMessages } from '../../src/linear/messages.js';
import { DEFAULT_API_KEY } from '../support/linear/state.js';
import { startInboundRig, type InboundRig } from './inbound.support.js';

const SECRET_ENV = 'BGAGENT_TEST_INBOUND_REJECTIONS_SECRET';
const KEY_ENV = 'BGAGENT_TEST_INBOUND_REJECTIONS_LINEAR_KEY';

describe('Linear label rejections through the real server: a comment and a ❌ on the issue', () => {
  let rig: InboundRig;
  beforeAll(() => {
    process.env[SECRET_ENV] = 'whsec_inbound_tests_0123456789';
    process.env[KEY_ENV] = DEFAULT_API_KEY;
  });
  afterAll(() => {
    delete process.env[SECRET_ENV];
    delete process.env[KEY_ENV];
  });
  beforeEach(async () => {
    // The fallback secret verifies a webhook that names no organization, and the fallback key reports on it
    // (setup keeps the workspace's own key as db:linear-<workspace>-api-key, not as LINEAR_API_KEY's default).
    rig = await startInboundRig({ env: { LINEAR_WEBHOOK_SECRET: `env:${SECRET_ENV}`, LINEAR_API_KEY: `env:${KEY_ENV}` } });
  });
  afterEach(async () => {
    await rig.destroy();
  });

  /** Sends the event, waits for it to be processed, and checks the issue got exactly `message` and one ❌. */
  async function expectRejected(event: { issue: { id: string }; payload: unknown }, message: string) {
    const res = await rig.send(event.payload);
    expect(res.status).toBe(200);
    expect(res.body.status).toBe('accepted');
    const delivery = await rig.processed(res.deliveryId);
    expect(delivery.status).toBe('done');
    expect(JSON.parse(delivery.result!).outcome).toBe('rejected');
    expect(rig.comments(event.issue.id)).toEqual([message]);
    expect(rig.reactions(event.issue.id)).toEqual(['x']);
    expect(await rig.count('tasks')).toBe(0);
  }

  it('issue not in a project', async () => {
    await expectRejected(rig.labelEvent({ projectId: null }), linearMessages.notInProject('bgagent'));
    expect(linearMessages.notInProject('bgagent')).toContain("it isn't in a project");
  });

  it('project not onboarded (names the onboarding command)', async () => {
    const other = rig.emu.state.addProject({ name: 'Mobile' });
    await expectRejected(rig.labelEvent({ projectId: other.id }), linearMessages.projectNotOnboarded(other.id, undefined));
    expect(rig.comments(rig.emu.state.issues.values().next().value!.id)[0]).toContain(`bgagent linear onboard-project ${other.id} --repo <name>`);
  });

  it('project removed (offboarded) names the command that onboards it again', async () => {
    const off = await rig.server.api('DELETE', `/v1/linear/projects/${rig.project.id}`);
    expect(off.status).toBe(200);
    expect(off.body.project.status).toBe('removed');
    const event = rig.labelEvent();
    await expectRejected(event, linearMessages.projectRemoved(rig.project.id, 'Website'));
    expect(rig.comments(event.issue.id)[0]).toContain(`bgagent linear onboard-project ${rig.project.id} --repo <name>`);
  });

  it('webhook without an actor', async () => {
    await expectRejected(rig.labelEvent({ actor: null }), linearMessages.missingOrgOrActor());
  });

  it('webhook without an organization (verified with LINEAR_WEBHOOK_SECRET, reported with LINEAR_API_KEY)', async () => {
    await expectRejected(rig.labelEvent({ organizationId: null }), linearMessages.missingOrgOrActor());
  });

  it('Linear user not linked (says how an admin links them)', async () => {
    const stranger = rig.emu.state.addUser({ name: 'Grace Hopper' });
    const event = rig.labelEvent({ actor: { id: stranger.id, name: stranger.name } });
    await expectRejected(event, linearMessages.userNotLinked('Grace Hopper'));
    expect(rig.comments(event.issue.id)[0]).toContain('bgagent linear link --linear-user');
  });

  it('task creation refused with 400: the validation message', async () => {
    const event = rig.labelEvent({ title: 'Too long', description: 'x'.repeat(50_001) });
    await expectRejected(event, linearMessages.validationRefused('task: task must be at most 50,000 characters'));
  });

  it('task creation refused with 422: the project maps to a repo that was removed', async () => {
    expect((await rig.server.api('DELETE', '/v1/repos/demo')).status).toBe(200);
    await expectRejected(rig.labelEvent(), linearMessages.validationRefused('repository "demo" is not onboarded; add it with: bgagent repo add demo --url <clone-url>'));
  });

  it('a reply to every rejection is sent even when the first call is rate limited', async () => {
    rig.emu.failNext({ kind: 'ratelimited', resetInMs: 300 }, { operationName: 'CommentCreate' });
    const event = rig.labelEvent({ projectId: null });
    await expectRejected(event, linearMessages.notInProject('bgagent'));
    const [limited, retried] = rig.emu.callsTo('CommentCreate');
    expect(limited!.failure).toBe('ratelimited');
    expect(retried!.status).toBe(200);
    // Retried only after the reset Linear advertised (not before).
    expect(retried!.at - limited!.at).toBeGreaterThanOrEqual(250);
    expect(rig.emu.callsTo('CommentCreate')).toHaveLength(2);
  });
});
