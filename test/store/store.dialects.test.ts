import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { monotonicFactory } from 'ulid';

const ulid = monotonicFactory();
import { storeTargets, type TestStore } from '../support/databases.js';
import { TransitionConflictError } from '../../src/tasks/errors.js';
import { newTaskRow } from '../../src/tasks/create-task.js';

for (const target of storeTargets) {
  describe.skipIf(target.skipReason)(`store on ${target.name}`, () => {
    let store: TestStore;
    beforeEach(async () => {
      store = await target.open();
    });
    afterEach(async () => {
      await store.destroy();
    });

    async function newTask(userId: string, extra: { idempotencyKey?: string } = {}) {
      const id = ulid();
      const now = Date.now();
      return store.tasks.insert(
        newTaskRow({
          id,
          userId,
          repo: 'demo',
          taskDescription: 'Add a README',
          issueRef: null,
          branchName: `bgagent/${id}/add-a-readme`,
          maxTurns: 10,
          maxBudgetUsd: 2.5,
          idempotencyKey: extra.idempotencyKey ?? null,
          channelSource: 'api',
          channelMetadata: { source: 'test' },
          now,
        }),
        { type: 'task_created', message: 'created' },
      );
    }

    it('runs migrations idempotently and starts empty', async () => {
      expect(await store.users.count()).toBe(0);
      expect(await store.tasks.list({ limit: 10 })).toEqual([]);
    });

    it('round-trips a task with its JSON metadata, floats and event', async () => {
      const user = await store.users.ensure('alice');
      const task = await newTask(user.id);
      const read = await store.tasks.get(task.id);
      expect(read).toMatchObject({ status: 'SUBMITTED', maxBudgetUsd: 2.5, channelMetadata: { source: 'test' } });
      expect(typeof read!.createdAt).toBe('number');
      const events = await store.tasks.listEvents(task.id);
      expect(events.map((e) => e.type)).toEqual(['task_created']);
    });

    it('applies a transition only from the expected state; a stale one is a conflict', async () => {
      const user = await store.users.ensure('alice');
      const task = await newTask(user.id);
      const moved = await store.tasks.transition(task.id, ['SUBMITTED'], 'HYDRATING', {
        patch: { lease_owner: 'w1', lease_expires_at: Date.now() + 1000 },
        event: { type: 'admission_granted', message: 'admitted' },
      });
      expect(moved.status).toBe('HYDRATING');
      await expect(
        store.tasks.transition(task.id, ['SUBMITTED'], 'QUEUED', { event: { type: 'x', message: 'x' } }),
      ).rejects.toBeInstanceOf(TransitionConflictError);
      // The wrong lease owner cannot move it either.
      await expect(
        store.tasks.transition(task.id, ['HYDRATING'], 'RUNNING', { leaseOwner: 'w2', event: { type: 'x', message: 'x' } }),
      ).rejects.toBeInstanceOf(TransitionConflictError);
      expect((await store.tasks.get(task.id))!.status).toBe('HYDRATING');
      // A conflict appends no event.
      expect((await store.tasks.listEvents(task.id)).map((e) => e.type)).toEqual(['task_created', 'admission_granted']);
    });

    it('refuses transitions the state machine does not allow', async () => {
      const user = await store.users.ensure('alice');
      const task = await newTask(user.id);
      await expect(
        store.tasks.transition(task.id, ['SUBMITTED'], 'COMPLETED', { event: { type: 'x', message: 'x' } }),
      ).rejects.toBeInstanceOf(TransitionConflictError);
    });

    it('lets exactly one of many concurrent writers win a transition', async () => {
      const user = await store.users.ensure('alice');
      const task = await newTask(user.id);
      const results = await Promise.allSettled(
        Array.from({ length: 8 }, (_, i) =>
          store.tasks.transition(task.id, ['SUBMITTED'], 'HYDRATING', {
            patch: { lease_owner: `w${i}` },
            event: { type: 'admission_granted', message: `w${i}` },
          }),
        ),
      );
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      expect((await store.tasks.listEvents(task.id)).filter((e) => e.type === 'admission_granted')).toHaveLength(1);
    });

    it('keeps idempotency keys unique', async () => {
      const user = await store.users.ensure('alice');
      await newTask(user.id, { idempotencyKey: 'k1' });
      await expect(newTask(user.id, { idempotencyKey: 'k1' })).rejects.toThrow();
      expect((await store.tasks.findByIdempotencyKey('k1'))!.userId).toBe(user.id);
    });

    it('lists with filters and id cursor, newest first', async () => {
      const user = await store.users.ensure('alice');
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) ids.push((await newTask(user.id)).id);
      const page1 = await store.tasks.list({ limit: 2 });
      expect(page1.map((t) => t.id)).toEqual([ids[4], ids[3]]);
      const page2 = await store.tasks.list({ limit: 2, before: page1[1]!.id });
      expect(page2.map((t) => t.id)).toEqual([ids[2], ids[1]]);
      expect(await store.tasks.list({ limit: 10, status: ['QUEUED'] })).toEqual([]);
      expect(await store.tasks.list({ limit: 10, repo: 'other' })).toEqual([]);
    });

    it('pages events with ?after', async () => {
      const user = await store.users.ensure('alice');
      const task = await newTask(user.id);
      for (let i = 0; i < 3; i++) await store.tasks.appendEvent(task.id, { type: 'agent_output', message: `line ${i}`, data: { i } });
      const all = await store.tasks.listEvents(task.id);
      expect(all).toHaveLength(4);
      const after = await store.tasks.listEvents(task.id, all[1]!.id);
      expect(after.map((e) => e.message)).toEqual(['line 1', 'line 2']);
      expect(after[0]!.data).toEqual({ i: 1 });
    });

    it('stores repos and hashed, revocable tokens', async () => {
      const { created } = await store.repos.upsert({ name: 'demo', cloneUrl: 'file:///x', defaultBranch: 'main', agent: 'command', agentSettings: { command: 'true' } });
      expect(created).toBe(true);
      expect((await store.repos.upsert({ name: 'demo', cloneUrl: 'file:///y', defaultBranch: 'main', agent: 'command', agentSettings: {} })).created).toBe(false);
      expect((await store.repos.get('demo'))!.cloneUrl).toBe('file:///y');
      const user = await store.users.ensure('bob');
      const { token, info } = await store.users.createToken(user.id, 'laptop');
      expect((await store.users.authenticate(token))!.name).toBe('bob');
      const raw = await store.db.kysely.selectFrom('api_tokens').select('token_hash').execute();
      expect(JSON.stringify(raw)).not.toContain(token);
      expect(await store.users.revokeToken(info.id)).toBe(true);
      expect(await store.users.authenticate(token)).toBeUndefined();
    });
  });
}
