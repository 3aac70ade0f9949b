import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { linearMessages } from '../../src/linear/messages.js';
import { tempDir } from '../support/databases.js';
import { waitFor } from '../support/server.js';
import { startInboundRig, type InboundRig } from './inbound.support.js';

describe('Linear events the trigger ignores, the help label and the queued note', () => {
  let rig: InboundRig | undefined;
  afterEach(async () => {
    await rig?.destroy();
    rig = undefined;
  });

  it('acknowledges events that ask for nothing and posts nothing on Linear', async () => {
    rig = await startInboundRig();
    const { label } = rig.emu.seeded!;
    const other = rig.emu.state.addLabel({ name: 'bug' });
    const events = [
      // The label was already there before this update.
      rig.labelEvent({ labelsBefore: [label] }).payload,
      // Another label was added.
      rig.labelEvent({ labels: [other] }).payload,
      // An update with no label change at all.
      { ...rig.labelEvent().payload, updatedFrom: { title: 'Old title' } },
      // The issue was removed.
      { ...rig.labelEvent().payload, action: 'remove' },
      // Not an Issue event (nor in a project: nothing would be said even so).
      { action: 'create', type: 'Comment', organizationId: rig.emu.seeded!.organization.id, webhookTimestamp: Date.now(), actor: { id: 'u', name: 'U' }, data: { id: 'comment-1', body: 'bgagent please' } },
    ];
    for (const payload of events) {
      const res = await rig.send(payload);
      expect(res.status).toBe(200);
      expect(JSON.parse((await rig.processed(res.deliveryId)).result!).outcome).toBe('ignored');
    }
    expect(rig.emu.calls).toHaveLength(0);
    expect(await rig.count('tasks')).toBe(0);
  });

  it('`bgagent:help` posts the explainer once per issue and creates no task', async () => {
    rig = await startInboundRig();
    const help = rig.emu.state.addLabel({ name: 'bgagent:help' });
    const first = rig.labelEvent({ labels: [help] });
    const again = rig.labelEvent({ issue: first.issue, labels: [help], webhookTimestamp: Date.now() + 5 });
    for (const payload of [first.payload, again.payload]) {
      const res = await rig.send(payload);
      expect(JSON.parse((await rig.processed(res.deliveryId)).result!).outcome).toBe('help');
    }
    expect(rig.comments(first.issue.id)).toEqual([linearMessages.help('bgagent')]);
    expect(rig.reactions(first.issue.id)).toEqual([]);
    // Another issue gets its own explainer.
    const second = rig.labelEvent({ labels: [help] });
    await rig.processed((await rig.send(second.payload)).deliveryId);
    expect(rig.comments(second.issue.id)).toEqual([linearMessages.help('bgagent')]);
    expect(await rig.count('tasks')).toBe(0);
  });

  it("a project's own trigger label replaces the default", async () => {
    rig = await startInboundRig();
    const custom = rig.emu.state.addLabel({ name: 'robot' });
    const remap = await rig.server.api('POST', '/v1/linear/projects', { body: { project_id: rig.project.id, repo: 'demo', label: 'Robot' } });
    expect(remap.status).toBe(200);
    const byDefault = await rig.send(rig.labelEvent().payload);
    expect(JSON.parse((await rig.processed(byDefault.deliveryId)).result!).outcome).toBe('ignored');
    const byCustom = await rig.send(rig.labelEvent({ labels: [custom] }).payload);
    expect(JSON.parse((await rig.processed(byCustom.deliveryId)).result!).outcome).toBe('created');
  });

  it("over the user's cap the task is queued, and the issue is told so once", async () => {
    const gate = join(tempDir(), 'release');
    rig = await startInboundRig({ agentCommand: `while [ ! -e ${gate} ]; do sleep 0.05; done; true` });
    const cap = await rig.server.api('POST', '/v1/tokens', { body: { user: 'ada', max_concurrent: 1 } });
    expect(cap.status).toBe(201);
    const running = rig.labelEvent();
    await rig.processed((await rig.send(running.payload)).deliveryId);
    const waiting = rig.labelEvent({ title: 'Second issue' });
    await rig.processed((await rig.send(waiting.payload)).deliveryId);
    const queuedNotes = (issueId: string) => rig!.comments(issueId).filter((c) => c === linearMessages.queued(1));
    await waitFor(() => (queuedNotes(waiting.issue.id).length ? true : undefined), 10_000, 'the queued note');
    // Admission looks at the queued task again on every tick; the note is still said once.
    await new Promise((r) => setTimeout(r, 700));
    expect(queuedNotes(waiting.issue.id)).toHaveLength(1);
    expect(rig.rejections(waiting.issue.id)).toEqual([]);
    expect(rig.reactions(waiting.issue.id)).not.toContain('x');
    expect(queuedNotes(running.issue.id)).toEqual([]);
    const statuses = (await rig.tasks()).map((t) => t.status);
    expect(statuses).toContain('QUEUED');
    writeFileSync(gate, '');
  });
});
