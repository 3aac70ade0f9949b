import { afterEach, describe, expect, it } from 'vitest';
import { TaskSignals } from '../../src/tasks/signals.js';
import { WAITING_STATUSES } from '../../src/store/tasks.js';
import { createTask } from '../../src/tasks/create-task.js';
import type { TaskStatus } from '../../src/tasks/states.js';
import { sendTaskInput, waitForAnswer } from '../../src/tasks/task-input.js';
import { storeTargets, type TestStore } from '../support/databases.js';

/**
 * A reply stored while the agent runs becomes the answer when the agent then asks (the runner's waitForAnswer),
 * and the task goes back in line even when its user is at BGAGENT_MAX_QUEUED_PER_USER: it was admitted and held
 * a worker slot until then, so waiting plus running tasks do not grow, and the reply its sender was told was
 * delivered is not left behind the question. New tasks stay refused until the line is under the limit.
 */
for (const target of storeTargets) {
  describe.skipIf(target.skipReason)(`an early answer at the waiting-task limit on ${target.name}`, () => {
    let store: TestStore | undefined;
    afterEach(async () => {
      await store?.destroy();
      store = undefined;
    });

    it('puts the task back in line with the reply as its answer; waiting plus running tasks stay the same, and new tasks are still refused', async () => {
      const s = (store = await target.open());
      await s.repos.upsert({ name: 'acme/app', cloneUrl: 'file:///nowhere', defaultBranch: 'main', agent: 'claude', agentSettings: {} });
      const user = await s.users.ensure('ada');
      const create = (text: string) => createTask({ store: s }, user, { repo: 'acme/app', task: text });
      const { task } = await create('Restyle the button');
      await s.tasks.transition(task.id, ['SUBMITTED'], 'HYDRATING', { event: { type: 't', message: 't' } });
      await s.tasks.transition(task.id, ['HYDRATING'], 'RUNNING', { patch: { lease_owner: 'worker-1', lease_expires_at: Date.now() + 60_000 }, event: { type: 't', message: 't' } });
      const deps = { store: s, signals: new TaskSignals(), onTaskCreated: () => {} };
      await expect(sendTaskInput(deps, task.id, { text: 'Green, please', author: 'ada' })).resolves.toMatchObject({ kind: 'delivered' });
      for (let i = 0; i < 100; i++) await create(`Task ${i}`);
      const count = async (statuses: readonly TaskStatus[]) => (await s.tasks.list({ userId: user.id, status: [...statuses], limit: 500 })).length;
      const before = { waiting: await count(WAITING_STATUSES), running: await count(['RUNNING']) };
      expect(before).toEqual({ waiting: 100, running: 1 });

      const { task: after, answeredEarly } = await waitForAnswer(s, task.id, {
        patch: { question: 'Green or blue?', question_asked_at: Date.now(), lease_owner: null, lease_expires_at: null },
        event: { type: 'input_requested', message: 'The agent asks: Green or blue?', data: { question: 'Green or blue?' } },
        leaseOwner: 'worker-1',
      });

      expect(answeredEarly).toBe(true);
      expect(after.status).toBe('SUBMITTED');
      expect((await s.tasks.listEvents(task.id)).map((e) => e.type)).toEqual(expect.arrayContaining(['input_requested', 'input_answered']));
      expect(await s.inputs.pending(task.id)).toMatchObject([{ text: 'Green, please' }]); // for the resumed agent
      const now = { waiting: await count(WAITING_STATUSES), running: await count(['RUNNING']) };
      expect(now.waiting + now.running).toBe(before.waiting + before.running);
      await expect(create('One more')).rejects.toMatchObject({ code: 'TOO_MANY_QUEUED_TASKS', status: 429 });
    });
  });
}
