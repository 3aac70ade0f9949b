import { afterEach, describe, expect, it } from 'vitest';
import { TaskSignals } from '../../src/tasks/signals.js';
import { deleteExpired, type RetainedTable } from '../../src/store/retention.js';
import { createTask } from '../../src/tasks/create-task.js';
import { ApiError } from '../../src/tasks/errors.js';
import { sendTaskInput } from '../../src/tasks/task-input.js';
import type { Task, User } from '../../src/tasks/task.js';
import { storeTargets, type TestStore } from '../support/databases.js';

const DAY = 24 * 60 * 60 * 1000;
const T0 = 1_700_000_000_000;

/** The per-user limit on waiting tasks and the retention job, as the store enforces them on both dialects. */
for (const target of storeTargets) {
  describe.skipIf(target.skipReason)(`bounds on ${target.name}`, () => {
    let store: TestStore | undefined;
    let clock = T0;
    afterEach(async () => {
      await store?.destroy();
      store = undefined;
    });

    async function setup() {
      clock = T0;
      const s = (store = await target.open({ now: () => clock }));
      await s.repos.upsert({ name: 'acme/app', cloneUrl: 'file:///nowhere', defaultBranch: 'main', agent: 'claude', agentSettings: {} });
      const user = await s.users.ensure('ada');
      return { s, user };
    }

    const create = (s: TestStore, user: User, text = 'Fix the footer') => createTask({ store: s }, user, { repo: 'acme/app', task: text });

    async function counts(s: TestStore) {
      const n = async (table: 'tasks' | 'task_events') =>
        Number((await s.db.kysely.selectFrom(table).select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n);
      return { tasks: await n('tasks'), events: await n('task_events') };
    }

    async function end(s: TestStore, task: Task, finishedAt: number) {
      return s.tasks.transition(task.id, ['SUBMITTED'], 'FAILED', { patch: { error_code: 'AGENT_FAILED', finished_at: finishedAt }, event: { type: 'task_failed', message: 'f' } });
    }

    describe('at most BGAGENT_MAX_QUEUED_PER_USER (default 100) waiting tasks per user', () => {
      it('refuses the 101st waiting task with TOO_MANY_QUEUED_TASKS (429) and writes nothing', async () => {
        const { s, user } = await setup();
        const other = await s.users.ensure('bob');
        for (let i = 0; i < 100; i++) await create(s, user, `Task ${i}`);
        const before = await counts(s);

        const refused = await create(s, user).catch((err: unknown) => err);
        expect(refused).toBeInstanceOf(ApiError);
        expect(refused).toMatchObject({ code: 'TOO_MANY_QUEUED_TASKS', status: 429 });
        expect((refused as Error).message).toMatch(/100 tasks waiting.*at most 100 per user.*bgagent cancel/);
        expect(await counts(s)).toEqual(before);

        // Another user's queue is their own; a task that starts or ends frees a place.
        await expect(create(s, other)).resolves.toMatchObject({ replay: false });
        const [first] = await s.tasks.list({ userId: user.id, limit: 1 });
        await s.tasks.transition(first!.id, ['SUBMITTED'], 'HYDRATING', { event: { type: 't', message: 't' } });
        await expect(create(s, user)).resolves.toMatchObject({ replay: false });
        await expect(create(s, user)).rejects.toMatchObject({ code: 'TOO_MANY_QUEUED_TASKS' });
      });

      it('refuses a continuation at the limit too, leaving the ended task as it was', async () => {
        const { s, user } = await setup();
        const ended = await end(s, (await create(s, user)).task, clock);
        for (let i = 0; i < 100; i++) await create(s, user, `Task ${i}`);
        const before = await counts(s);
        const created: Task[] = [];
        const deps = { store: s, signals: new TaskSignals(), onTaskCreated: (t: Task) => void created.push(t) };

        await expect(sendTaskInput(deps, ended.id, { text: 'Try again', author: 'ada' })).rejects.toMatchObject({ code: 'TOO_MANY_QUEUED_TASKS', status: 429 });
        expect(await counts(s)).toEqual(before);
        expect(created).toEqual([]);
        expect(await s.tasks.latestContinuation(ended.id)).toBeUndefined();
        expect(await s.inputs.pending(ended.id)).toEqual([]);
      });

      it('refuses an answer that would put its task back in line past the limit: the question stays open, nothing is stored', async () => {
        const { s, user } = await setup();
        // A task that ran and asked a question (it no longer counts as waiting), then a full queue.
        const asked = (await create(s, user, 'Ask first')).task;
        await s.tasks.transition(asked.id, ['SUBMITTED'], 'HYDRATING', { event: { type: 't', message: 't' } });
        await s.tasks.transition(asked.id, ['HYDRATING'], 'RUNNING', { event: { type: 't', message: 't' } });
        await s.tasks.transition(asked.id, ['RUNNING'], 'AWAITING_INPUT', { patch: { question: 'Which footer?', question_asked_at: clock }, event: { type: 'input_requested', message: 'q' } });
        for (let i = 0; i < 100; i++) await create(s, user, `Task ${i}`);
        const before = await counts(s);
        const deps = { store: s, signals: new TaskSignals(), onTaskCreated: () => {} };

        await expect(sendTaskInput(deps, asked.id, { text: 'The blue one', author: 'ada' })).rejects.toMatchObject({ code: 'TOO_MANY_QUEUED_TASKS', status: 429 });
        expect(await counts(s)).toEqual(before);
        expect((await s.tasks.get(asked.id))!.status).toBe('AWAITING_INPUT');
        expect(await s.inputs.pending(asked.id)).toEqual([]);

        // Once a place is free, the answer goes through.
        const [first] = await s.tasks.list({ userId: user.id, status: ['SUBMITTED'], limit: 1 });
        await s.tasks.transition(first!.id, ['SUBMITTED'], 'HYDRATING', { event: { type: 't', message: 't' } });
        await expect(sendTaskInput(deps, asked.id, { text: 'The blue one', author: 'ada' })).resolves.toMatchObject({ kind: 'answered' });
      });

      it('lets exactly as many concurrent creates through as there are places left', async () => {
        const { s, user } = await setup();
        for (let i = 0; i < 95; i++) await create(s, user, `Task ${i}`);
        const results = await Promise.allSettled(Array.from({ length: 10 }, (_, i) => create(s, user, `Racer ${i}`)));
        expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(5);
        for (const r of results.filter((r) => r.status === 'rejected')) expect((r as PromiseRejectedResult).reason).toMatchObject({ code: 'TOO_MANY_QUEUED_TASKS' });
        expect((await counts(s)).tasks).toBe(100);
      });
    });

    describe('retention', () => {
      /** A task with an event, an input and a saved conversation written at `at`, ended at `endedAt` (undefined: still running). */
      async function taskWithData(s: TestStore, user: User, at: number, endedAt: number | undefined) {
        clock = at;
        const { task } = await create(s, user);
        await s.tasks.appendEvent(task.id, { type: 'agent_output', message: 'hello' });
        await s.inputs.add(s.db.kysely, { taskId: task.id, kind: 'follow_up', text: 'and the header', author: 'ada' });
        await s.inputs.saveConversation({ taskId: task.id, harness: 'claude', sessionId: 's', transcript: '{}' });
        if (endedAt === undefined) await s.tasks.transition(task.id, ['SUBMITTED'], 'HYDRATING', { event: { type: 't', message: 't' } });
        else {
          clock = endedAt;
          await end(s, task, endedAt);
        }
        return task;
      }

      async function dataOf(s: TestStore, taskId: string) {
        return {
          events: (await s.tasks.listEvents(taskId)).length,
          inputs: Number((await s.db.kysely.selectFrom('task_inputs').select((eb) => eb.fn.countAll<number>().as('n')).where('task_id', '=', taskId).executeTakeFirstOrThrow()).n),
          conversation: (await s.inputs.conversation(taskId)) !== undefined,
        };
      }

      async function delivery(s: TestStore, id: string, at: number, finish: 'done' | 'failed' | undefined) {
        clock = at;
        await s.linear.insertDelivery({ id, dedupeKey: id, workspaceId: 'w', type: 'Issue', action: 'update', payload: '{}', orderingKey: null, webhookTimestamp: at });
        if (!finish) return;
        const [claimed] = await s.linear.claimDeliveries('me', 60_000, 1);
        expect(claimed?.id).toBe(id);
        await s.linear.finishDelivery(id, 'me', finish, 'ok');
      }

      it("deletes the events, inputs and conversations of tasks ended before it, and old processed deliveries; keeps recent and unfinished ones and every task row", async () => {
        const { s, user } = await setup();
        const old = await taskWithData(s, user, T0, T0 + 1000);
        const recent = await taskWithData(s, user, T0, T0 + 40 * DAY);
        const running = await taskWithData(s, user, T0, undefined);
        // An old task whose continuation has not run yet: it resumes the parent's conversation, which stays.
        const parent = await taskWithData(s, user, T0, T0 + 1000);
        clock = T0 + 40 * DAY;
        const { task: continuation } = await createTask({ store: s }, user, { repo: 'acme/app', task: 'Go on' });
        await s.db.kysely.updateTable('tasks').set({ parent_task_id: parent.id }).where('id', '=', continuation.id).execute();
        await delivery(s, 'old-done', T0, 'done');
        await delivery(s, 'old-failed', T0, 'failed');
        await delivery(s, 'recent-done', T0 + 40 * DAY, 'done');
        await delivery(s, 'old-pending', T0, undefined);

        const deleted = await deleteExpired(s.db, { before: T0 + 10 * DAY });

        expect(deleted).toEqual({ task_events: 6, task_inputs: 2, agent_conversations: 1, linear_deliveries: 2 });
        expect(await dataOf(s, old.id)).toEqual({ events: 0, inputs: 0, conversation: false });
        expect(await dataOf(s, parent.id)).toEqual({ events: 0, inputs: 0, conversation: true });
        expect(await dataOf(s, recent.id)).toEqual({ events: 3, inputs: 1, conversation: true });
        expect(await dataOf(s, running.id)).toEqual({ events: 3, inputs: 1, conversation: true });
        for (const id of ['old-done', 'old-failed']) expect(await s.linear.getDelivery(id)).toBeUndefined();
        for (const id of ['recent-done', 'old-pending']) expect(await s.linear.getDelivery(id)).toBeDefined();
        expect((await counts(s)).tasks).toBe(5);
        expect(await s.tasks.get(old.id)).toMatchObject({ status: 'FAILED', errorCode: 'AGENT_FAILED' });

        // Nothing left to do: a second pass deletes nothing.
        expect(await deleteExpired(s.db, { before: T0 + 10 * DAY })).toEqual({ task_events: 0, task_inputs: 0, agent_conversations: 0, linear_deliveries: 0 });
      });

      it('deletes in batches: 5 rows with a batch size of 2 take 3 statements', async () => {
        const { s, user } = await setup();
        const { task } = await create(s, user);
        for (let i = 0; i < 4; i++) await s.tasks.appendEvent(task.id, { type: 'agent_output', message: `line ${i}` });
        await end(s, task, T0);
        await s.db.kysely.deleteFrom('task_events').where('type', '=', 'task_failed').execute();
        expect((await s.tasks.listEvents(task.id)).length).toBe(5);

        const batches: Array<[RetainedTable, number]> = [];
        const deleted = await deleteExpired(s.db, { before: T0 + DAY, batchSize: 2, onDeleted: (table, rows) => void batches.push([table, rows]) });
        expect(batches).toEqual([['task_events', 2], ['task_events', 2], ['task_events', 1]]);
        expect(deleted.task_events).toBe(5);
        expect(await s.tasks.listEvents(task.id)).toEqual([]);
      });

      it('two passes at once both succeed and delete each row once', async () => {
        const { s, user } = await setup();
        for (let t = 0; t < 3; t++) {
          const { task } = await create(s, user);
          for (let i = 0; i < 9; i++) await s.tasks.appendEvent(task.id, { type: 'agent_output', message: `line ${i}` });
          await end(s, task, T0);
        }
        const passes = await Promise.all([1, 2, 3].map(() => deleteExpired(s.db, { before: T0 + DAY, batchSize: 4 })));
        // A pass that finds another at work stops; the rest is the next pass's job.
        const rest = await deleteExpired(s.db, { before: T0 + DAY, batchSize: 4 });
        expect([...passes, rest].reduce((n, d) => n + d.task_events, 0)).toBe(33);
        expect((await counts(s)).events).toBe(0);
      });
    });
  });
}
