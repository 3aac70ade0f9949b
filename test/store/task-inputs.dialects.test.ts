import { afterEach, describe, expect, it } from 'vitest';
import { TaskSignals } from '../../src/orchestrator/signals.js';
import { createTask } from '../../src/tasks/create-task.js';
import { ApiError } from '../../src/tasks/errors.js';
import { sendTaskInput } from '../../src/tasks/task-input.js';
import type { Task } from '../../src/tasks/task.js';
import { storeTargets, type TestStore } from '../support/databases.js';

/** Follow-ups, answers and continuations as the store keeps them, on both dialects. */
for (const target of storeTargets) {
  describe.skipIf(target.skipReason)(`task input on ${target.name}`, () => {
    let store: TestStore | undefined;
    afterEach(async () => {
      await store?.destroy();
      store = undefined;
    });

    async function setup() {
      const s = (store = await target.open());
      await s.repos.upsert({ name: 'acme/app', cloneUrl: 'file:///nowhere', defaultBranch: 'main', agent: 'claude', agentSettings: {} });
      const user = await s.users.ensure('ada');
      const created: Task[] = [];
      const deps = { store: s, signals: new TaskSignals(), onTaskCreated: (t: Task) => void created.push(t) };
      const { task } = await createTask({ store: s, onCreated: () => {} }, user, { repo: 'acme/app', task: 'Fix the footer' });
      return { s, deps, task, created };
    }

    it('stores a follow-up for a task not yet ended, once, in order, and hands each out once', async () => {
      const { s, deps, task } = await setup();
      await expect(sendTaskInput(deps, task.id, { text: 'first', author: 'ada' })).resolves.toMatchObject({ kind: 'delivered' });
      await sendTaskInput(deps, task.id, { text: 'second', author: 'ada' });
      const [a, b] = await Promise.all([s.inputs.take(task.id), s.inputs.take(task.id)]);
      expect([...a, ...b].map((i) => i.text).sort()).toEqual(['first', 'second']);
      expect(await s.inputs.take(task.id)).toEqual([]);
    });

    it('an answer sends a waiting task back to admission and counts the wait out of its time limit', async () => {
      const { s, deps, task } = await setup();
      await s.tasks.transition(task.id, ['SUBMITTED'], 'HYDRATING', { event: { type: 't', message: 't' } });
      await s.tasks.transition(task.id, ['HYDRATING'], 'RUNNING', { event: { type: 't', message: 't' } });
      const askedAt = Date.now() - 5_000;
      await s.tasks.transition(task.id, ['RUNNING'], 'AWAITING_INPUT', { patch: { question: 'Which footer?', question_asked_at: askedAt }, event: { type: 'input_requested', message: 'q' } });

      const { kind, task: after } = await sendTaskInput(deps, task.id, { text: 'The blue one', author: 'ada' });
      expect(kind).toBe('answered');
      expect(after.status).toBe('SUBMITTED');
      expect(after.inputWaitMs).toBeGreaterThanOrEqual(5_000);
      expect((await s.inputs.pending(task.id)).map((i) => [i.kind, i.text])).toEqual([['answer', 'The blue one']]);
      // A second answer while it waits for a worker is a follow-up, not a second resume.
      expect((await sendTaskInput(deps, task.id, { text: 'Dark blue', author: 'ada' })).kind).toBe('delivered');
    });

    it('continues an ended task in a new one on the same branch, and sends later messages to the newest continuation', async () => {
      const { s, deps, task, created } = await setup();
      await s.tasks.transition(task.id, ['SUBMITTED'], 'FAILED', { patch: { error_code: 'AGENT_FAILED', finished_at: Date.now() }, event: { type: 'task_failed', message: 'f' } });
      const first = await sendTaskInput(deps, task.id, { text: 'Try again', author: 'ada' });
      expect(first).toMatchObject({ kind: 'continued', task: { parentTaskId: task.id, branchName: task.branchName, status: 'SUBMITTED' } });
      expect(created.map((t) => t.id)).toEqual([first.task.id]);
      const second = await sendTaskInput(deps, task.id, { text: 'And this', author: 'ada' });
      expect(second).toMatchObject({ kind: 'delivered', task: { id: first.task.id } });
    });

    it('refuses an empty message or an unknown task and stores nothing', async () => {
      const { s, deps, task } = await setup();
      await expect(sendTaskInput(deps, task.id, { text: '  ', author: 'ada' })).rejects.toBeInstanceOf(ApiError);
      await expect(sendTaskInput(deps, '01JUNKNOWNTASK0000000000000', { text: 'hi', author: 'ada' })).rejects.toMatchObject({ code: 'TASK_NOT_FOUND' });
      expect(await s.inputs.pending(task.id)).toEqual([]);
    });
  });
}
