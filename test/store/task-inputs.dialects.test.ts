import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { migrationProvider } from '../../src/store/migrations.js';
import { TaskSignals } from '../../src/tasks/signals.js';
import { createTask } from '../../src/tasks/create-task.js';
import { ApiError } from '../../src/tasks/errors.js';
import { continueTask, sendTaskInput } from '../../src/tasks/task-input.js';
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

    it('an answer sends a waiting task back to admission', async () => {
      const { s, deps, task } = await setup();
      await s.tasks.transition(task.id, ['SUBMITTED'], 'HYDRATING', { event: { type: 't', message: 't' } });
      await s.tasks.transition(task.id, ['HYDRATING'], 'RUNNING', { event: { type: 't', message: 't' } });
      const askedAt = Date.now() - 5_000;
      await s.tasks.transition(task.id, ['RUNNING'], 'AWAITING_INPUT', { patch: { question: 'Which footer?', question_asked_at: askedAt }, event: { type: 'input_requested', message: 'q' } });

      const { kind, task: after } = await sendTaskInput(deps, task.id, { text: 'The blue one', author: 'ada' });
      expect(kind).toBe('answered');
      expect(after.status).toBe('SUBMITTED');
      // The wait is counted out of the time limit when the agent resumes, queue time included.
      expect(after).toMatchObject({ inputWaitMs: 0, questionAskedAt: askedAt });
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

    const fail = (s: TestStore, id: string, from: Task['status'] = 'SUBMITTED') =>
      s.tasks.transition(id, [from], 'FAILED', { patch: { error_code: 'AGENT_FAILED', finished_at: Date.now() }, event: { type: 'task_failed', message: 'f' } });
    const tick = () => new Promise((r) => setTimeout(r, 3));

    it('hands back the messages a run took but its agent never saw, and only those of that run', async () => {
      const { s, deps, task } = await setup();
      await sendTaskInput(deps, task.id, { text: 'yes', author: 'ada' });
      await s.inputs.take(task.id);
      await tick();
      const runStarted = Date.now();
      await tick();
      await sendTaskInput(deps, task.id, { text: 'yes', author: 'ada' });
      await sendTaskInput(deps, task.id, { text: 'and the footer', author: 'ada' });
      expect((await s.inputs.take(task.id)).map((i) => i.text)).toEqual(['yes', 'and the footer']);
      await s.inputs.release(task.id, ['yes'], runStarted);
      expect((await s.inputs.pending(task.id)).map((i) => i.text)).toEqual(['yes']);
      expect((await s.inputs.take(task.id)).map((i) => i.text)).toEqual(['yes']);
    });

    it('messages racing to continue one ended task make one continuation; the others reach it', async () => {
      const { s, deps, task, created } = await setup();
      await fail(s, task.id);
      const texts = ['one', 'two', 'three', 'four', 'five'];
      const results = await Promise.all(texts.map((text) => sendTaskInput(deps, task.id, { text, author: 'ada' })));
      const continued = results.filter((r) => r.kind === 'continued');
      expect(continued).toHaveLength(1);
      expect(results.filter((r) => r.kind === 'delivered').map((r) => r.task.id)).toEqual(Array(4).fill(continued[0]!.task.id));
      expect(created.map((t) => t.id)).toEqual([continued[0]!.task.id]);
      // Every message is there once: in the continuation's text, or waiting for its agent.
      const next = (await s.tasks.get(continued[0]!.task.id))!;
      const pending = (await s.inputs.pending(next.id)).map((i) => i.text);
      expect([...texts.filter((t) => next.taskDescription.startsWith(`${t}\n`)), ...pending].sort()).toEqual([...texts].sort());
    });

    it('a continuation carries what the ended task never worked into its saved conversation: messages still waiting, and those taken after the last save', async () => {
      const { s, deps, task } = await setup();
      await s.tasks.transition(task.id, ['SUBMITTED'], 'HYDRATING', { event: { type: 't', message: 't' } });
      await s.tasks.transition(task.id, ['HYDRATING'], 'RUNNING', { event: { type: 't', message: 't' } });
      await sendTaskInput(deps, task.id, { text: 'seen and saved', author: 'ada' });
      await s.inputs.take(task.id);
      await tick();
      await s.inputs.saveConversation({ taskId: task.id, harness: 'claude', sessionId: 's1', transcript: '{}' });
      await tick();
      // Taken by a run that then crashed before it saved the conversation again.
      await sendTaskInput(deps, task.id, { text: 'taken, then the worker died', author: 'ada' });
      await s.inputs.take(task.id);
      await sendTaskInput(deps, task.id, { text: 'never taken', author: 'bob' });
      await fail(s, task.id, 'RUNNING');

      const { kind, task: next } = await sendTaskInput(deps, task.id, { text: 'go on', author: 'ada' });
      expect(kind).toBe('continued');
      expect(next.taskDescription.split('\n\n(Follow-up')[0]).toBe('taken, then the worker died\n\nnever taken\n\ngo on');
      expect(await s.inputs.pending(task.id)).toEqual([]);
      expect((await s.tasks.listEvents(task.id)).at(-1)).toMatchObject({ type: 'task_continued', message: `Follow-up from ada, bob continues in task ${next.id}` });
    });

    it('a completed task carries only the messages its agent was never handed, even when its conversation was not saved', async () => {
      const { s, deps, task } = await setup();
      const step = (from: Task['status'], to: Task['status']) => s.tasks.transition(task.id, [from], to, { event: { type: 't', message: 't' } });
      await step('SUBMITTED', 'HYDRATING');
      await step('HYDRATING', 'RUNNING');
      await sendTaskInput(deps, task.id, { text: 'also add a test', author: 'ada' });
      await s.inputs.take(task.id);
      await step('RUNNING', 'FINALIZING');
      await step('FINALIZING', 'COMPLETED');
      expect(await continueTask(deps, (await s.tasks.get(task.id))!)).toBeUndefined();

      const { task: next } = await sendTaskInput(deps, task.id, { text: 'now the docs', author: 'ada' });
      expect(next.taskDescription.split('\n\n(Follow-up')[0]).toBe('now the docs');
    });

    it('the one-continuation index chains continuations that raced before it existed', async () => {
      const { s, task } = await setup();
      await fail(s, task.id);
      await sql`drop index tasks_one_continuation`.execute(s.db.kysely);
      const user = await s.users.ensure('ada');
      const child = async (text: string, parent: string) => {
        const { task: t } = await createTask({ store: s, onCreated: () => {} }, user, { repo: 'acme/app', task: text });
        await sql`update tasks set parent_task_id = ${parent} where id = ${t.id}`.execute(s.db.kysely);
        return t.id;
      };
      // Three racing continuations of the task; the first was itself continued later.
      const [a, b, c] = [await child('a', task.id), await child('b', task.id), await child('c', task.id)];
      const a1 = await child('a1', a);
      const migrations = await migrationProvider(s.db.dialect).getMigrations();
      await migrations['0007_one_continuation_per_task']!.up(s.db.kysely);
      const chain: string[] = [];
      for (let next = await s.tasks.latestContinuation(task.id); next; next = await s.tasks.latestContinuation(next.id)) chain.push(next.id);
      expect(chain).toEqual([a, b, c, a1]);
      await expect(sql`update tasks set parent_task_id = ${task.id} where id = ${c}`.execute(s.db.kysely)).rejects.toThrow();
    });

    it('refuses an empty message or an unknown task and stores nothing', async () => {
      const { s, deps, task } = await setup();
      await expect(sendTaskInput(deps, task.id, { text: '  ', author: 'ada' })).rejects.toBeInstanceOf(ApiError);
      await expect(sendTaskInput(deps, '01JUNKNOWNTASK0000000000000', { text: 'hi', author: 'ada' })).rejects.toMatchObject({ code: 'TASK_NOT_FOUND' });
      expect(await s.inputs.pending(task.id)).toEqual([]);
    });
  });
}
