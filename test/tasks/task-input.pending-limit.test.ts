import { afterEach, describe, expect, it } from 'vitest';
import { TaskSignals } from '../../src/tasks/signals.js';
import { createTask } from '../../src/tasks/create-task.js';
import { ERROR_STATUS } from '../../src/tasks/errors.js';
import { MAX_PENDING_INPUTS_PER_TASK, sendTaskInput } from '../../src/tasks/task-input.js';
import { storeTargets, type TestStore } from '../support/databases.js';

/**
 * A running task's follow-ups wait in task_inputs until its agent takes them. Each may be 50,000 characters,
 * so without a count limit one caller could store any amount for one task: at MAX_PENDING_INPUTS_PER_TASK
 * waiting, another is a 429 TOO_MANY_PENDING_INPUTS that stores nothing.
 */
for (const target of storeTargets) {
  describe.skipIf(target.skipReason)(`pending follow-ups per task on ${target.name}`, () => {
    let store: TestStore | undefined;
    afterEach(async () => {
      await store?.destroy();
      store = undefined;
    });

    async function runningTask() {
      const s = (store = await target.open());
      await s.repos.upsert({ name: 'acme/app', cloneUrl: 'file:///nowhere', defaultBranch: 'main', agent: 'claude', agentSettings: {} });
      const user = await s.users.ensure('ada');
      const { task } = await createTask({ store: s }, user, { repo: 'acme/app', task: 'Fix the footer' });
      await s.tasks.transition(task.id, ['SUBMITTED'], 'HYDRATING', { event: { type: 't', message: 't' } });
      await s.tasks.transition(task.id, ['HYDRATING'], 'RUNNING', { event: { type: 't', message: 't' } });
      const deps = { store: s, signals: new TaskSignals(), onTaskCreated: () => {} };
      return { s, task, send: (text: string) => sendTaskInput(deps, task.id, { text, author: 'ada' }) };
    }

    const inputRows = async (s: TestStore) =>
      Number((await s.db.kysely.selectFrom('task_inputs').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n);

    it(`refuses follow-up ${MAX_PENDING_INPUTS_PER_TASK + 1} with 429 TOO_MANY_PENDING_INPUTS, stores nothing, and takes more once the agent has read them`, async () => {
      const { s, task, send } = await runningTask();
      expect(ERROR_STATUS.TOO_MANY_PENDING_INPUTS).toBe(429);
      for (let i = 0; i < MAX_PENDING_INPUTS_PER_TASK; i++) await expect(send(`note ${i}`)).resolves.toMatchObject({ kind: 'delivered' });
      const events = (await s.tasks.listEvents(task.id)).length;

      const refused = await send('one too many').catch((err: unknown) => err);
      expect(refused).toMatchObject({ code: 'TOO_MANY_PENDING_INPUTS', status: 429 });
      expect((refused as Error).message).toMatch(/50 messages its agent has not read yet \(at most 50\); send more once it has taken them.*or cancel the task/);
      expect(await inputRows(s)).toBe(MAX_PENDING_INPUTS_PER_TASK);
      expect((await s.tasks.listEvents(task.id)).length).toBe(events);

      // The agent takes what waits (between turns): there is room again.
      expect(await s.inputs.take(task.id)).toHaveLength(MAX_PENDING_INPUTS_PER_TASK);
      await expect(send('after the agent read them')).resolves.toMatchObject({ kind: 'delivered' });
    });

    it('lets exactly as many concurrent follow-ups through as there are places left', async () => {
      const { s, send } = await runningTask();
      for (let i = 0; i < MAX_PENDING_INPUTS_PER_TASK - 5; i++) await send(`note ${i}`);
      const results = await Promise.allSettled(Array.from({ length: 12 }, (_, i) => send(`racer ${i}`)));
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(5);
      for (const r of results.filter((r) => r.status === 'rejected')) expect((r as PromiseRejectedResult).reason).toMatchObject({ code: 'TOO_MANY_PENDING_INPUTS' });
      expect(await inputRows(s)).toBe(MAX_PENDING_INPUTS_PER_TASK);
    });
  });
}
