import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { storeTargets, type TestStore } from '../support/databases.js';
import { admitUserTasks } from '../../src/orchestrator/admission.js';
import { createTask } from '../../src/tasks/create-task.js';
import type { User } from '../../src/tasks/task.js';

for (const target of storeTargets) {
  describe.skipIf(target.skipReason)(`admission on ${target.name}`, () => {
    let store: TestStore;
    let user: User;
    beforeEach(async () => {
      store = await target.open();
      user = await store.users.ensure('alice');
      await store.repos.upsert({ name: 'demo', cloneUrl: 'file:///x', defaultBranch: 'main', agent: 'command', agentSettings: { command: 'true' } });
    });
    afterEach(async () => {
      await store.destroy();
    });

    const submit = async (n: number) => {
      const ids: string[] = [];
      for (let i = 0; i < n; i++) ids.push((await createTask({ store }, user, { repo: 'demo', task: `t${i}` })).task.id);
      return ids;
    };
    const admit = (workerId: string, capacity = 10) =>
      admitUserTasks(store, { userId: user.id, workerId, leaseMs: 30_000, defaultCap: 2, capacity, now: Date.now() });

    it('admits the oldest tasks up to the cap and queues the rest once, in order', async () => {
      const ids = await submit(4);
      const first = await admit('w1');
      expect(first.admitted.map((t) => t.id)).toEqual(ids.slice(0, 2));
      expect(first.admitted.every((t) => t.status === 'HYDRATING' && t.leaseOwner === 'w1')).toBe(true);
      expect(first.queued.map((t) => t.id)).toEqual(ids.slice(2));
      // Asking again changes nothing and reports no queueing twice.
      expect(await admit('w1')).toEqual({ admitted: [], queued: [] });
      // A slot frees: the oldest queued task (FIFO) leaves the queue.
      await store.tasks.transition(ids[0]!, ['HYDRATING'], 'FAILED', { event: { type: 'task_failed', message: 'x' } });
      const next = await admit('w1');
      expect(next.admitted.map((t) => t.id)).toEqual([ids[2]]);
      const events = (await store.tasks.listEvents(ids[2]!)).map((e) => e.type);
      expect(events).toEqual(['task_created', 'admission_queued', 'admission_released', 'admission_granted']);
    });

    it("respects a worker's capacity without queueing what the user's cap allows", async () => {
      const ids = await submit(2);
      const r = await admit('w1', 1);
      expect(r.admitted.map((t) => t.id)).toEqual([ids[0]]);
      expect(r.queued).toEqual([]);
      expect((await store.tasks.get(ids[1]!))!.status).toBe('SUBMITTED');
    });

    it('never exceeds the cap when many workers race', async () => {
      await submit(6);
      const results = await Promise.all(Array.from({ length: 6 }, (_, i) => admit(`w${i}`)));
      const admitted = results.flatMap((r) => r.admitted);
      expect(admitted).toHaveLength(2);
      const running = await store.tasks.list({ limit: 10, status: ['HYDRATING'] });
      expect(running).toHaveLength(2);
      const queued = await store.tasks.list({ limit: 10, status: ['QUEUED'] });
      expect(queued).toHaveLength(4);
      for (const t of queued) expect((await store.tasks.listEvents(t.id)).filter((e) => e.type === 'admission_queued')).toHaveLength(1);
    });
  });
}
