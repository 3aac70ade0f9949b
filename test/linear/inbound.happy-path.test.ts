import { afterEach, describe, expect, it } from 'vitest';
import { postgresSkipReason } from '../support/databases.js';
import { waitFor } from '../support/server.js';
import { startInboundRig, type InboundRig } from './inbound.support.js';

for (const dialect of ['sqlite', 'postgres'] as const) {
  describe.skipIf(dialect === 'postgres' && postgresSkipReason)(`a labelled Linear issue becomes one task on ${dialect}`, () => {
    let rig: InboundRig | undefined;
    afterEach(async () => {
      await rig?.destroy();
      rig = undefined;
    });

    it('creates exactly one task for the issue, as its linked user, and posts no rejection', async () => {
      rig = await startInboundRig({ dialect });
      const { issue, payload } = rig.labelEvent({ title: 'Fix the login page', description: 'The button is misaligned.' });
      const res = await rig.send(payload);
      expect(res).toMatchObject({ status: 200, body: { status: 'accepted', delivery_id: res.deliveryId } });
      const delivery = await rig.processed(res.deliveryId);
      const outcome = JSON.parse(delivery.result!);
      expect(outcome.outcome).toBe('created');

      const tasks = await rig.tasks();
      expect(tasks).toHaveLength(1);
      expect(tasks[0]!.id).toBe(outcome.taskId);
      expect(tasks[0]!.channel_source).toBe('linear');
      expect(JSON.parse(tasks[0]!.channel_metadata)).toMatchObject({
        issueId: issue.id,
        issueIdentifier: issue.identifier,
        workspaceId: rig.emu.seeded!.organization.id,
        projectId: rig.project.id,
        actorId: rig.emu.seeded!.human.id,
        deliveryId: res.deliveryId,
      });
      const ada = await rig.server.store.users.getByName('ada');
      const api = await rig.server.api('GET', `/v1/tasks/${outcome.taskId}`);
      expect(api.body.task).toMatchObject({ repo: 'demo', user_id: ada!.id, task_description: 'Fix the login page\n\nThe button is misaligned.' });
      // The task's own progress may show on the issue; a refusal may not.
      const done = await waitFor(async () => {
        const { body } = await rig!.server.api('GET', `/v1/tasks/${outcome.taskId}`);
        return ['COMPLETED', 'FAILED', 'CANCELLED', 'TIMED_OUT'].includes(body.task.status) ? body.task : undefined;
      }, 15_000, 'the task to end');
      expect(done.status).toBe('COMPLETED');
      expect(rig.rejections(issue.id)).toEqual([]);
      expect(rig.reactions(issue.id)).not.toContain('x');
    });

    it('an Issue created with the label (any case) triggers too', async () => {
      rig = await startInboundRig({ dialect });
      const upper = rig.emu.state.addLabel({ name: 'BGAgent' });
      const res = await rig.send(rig.labelEvent({ action: 'create', labels: [upper] }).payload);
      expect(JSON.parse((await rig.processed(res.deliveryId)).result!).outcome).toBe('created');
      expect(await rig.count('tasks')).toBe(1);
    });

    it('a redelivery storm makes one task: the same delivery 10 times, the same event under 10 new delivery ids', async () => {
      rig = await startInboundRig({ dialect });
      const { issue, payload } = rig.labelEvent();
      const same = await Promise.all(Array.from({ length: 10 }, () => rig!.send(payload, { deliveryId: 'delivery-storm-1' })));
      expect(same.map((r) => r.status)).toEqual(Array(10).fill(200));
      expect(same.filter((r) => r.body.status === 'accepted')).toHaveLength(1);
      const renamed = await Promise.all(Array.from({ length: 10 }, (_, i) => rig!.send(payload, { deliveryId: `delivery-storm-new-${i}` })));
      expect(renamed.map((r) => r.status)).toEqual(Array(10).fill(200));
      expect(renamed.every((r) => r.body.status === 'duplicate')).toBe(true);
      await rig.processed('delivery-storm-1');
      expect(await rig.count('linear_deliveries')).toBe(1);
      expect(await rig.count('tasks')).toBe(1);
      expect(rig.rejections(issue.id)).toEqual([]);
      expect(rig.reactions(issue.id)).not.toContain('x');
    });
  });
}
