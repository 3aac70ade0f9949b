import { rmSync } from 'node:fs';
import { Migrator, sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { openDb } from '../../src/store/connection.js';
import { migrate } from '../../src/store/migrations.js';
import type { NewDelivery } from '../../src/store/linear.js';
import { migrationProvider } from '../../src/store/migrations.js';
import { createTestDatabase, storeTargets, tempDir, type TestStore } from '../support/databases.js';

const delivery = (id: string, dedupeKey = `Issue:${id}:update:1`, order: { key?: string; sentAt?: number } = {}): NewDelivery => ({
  id,
  dedupeKey,
  workspaceId: 'org-1',
  type: 'Issue',
  action: 'update',
  payload: `{"id":"${id}"}`,
  orderingKey: order.key ?? null,
  webhookTimestamp: order.sentAt ?? 1,
});

for (const target of storeTargets) {
  describe.skipIf(target.skipReason)(`LinearStore deliveries on ${target.name}`, () => {
    let store: TestStore | undefined;
    let clock = 1_000_000;
    afterEach(async () => {
      await store?.destroy();
      store = undefined;
    });
    const open = async () => {
      clock = 1_000_000;
      store = await target.open({ now: () => clock });
      return store;
    };

    it('deduplicates by delivery id and by (entity, action, timestamp), also when racing', async () => {
      const s = await open();
      expect(await s.linear.insertDelivery(delivery('d1', 'key-1'))).toBe(true);
      expect(await s.linear.insertDelivery(delivery('d1', 'key-other'))).toBe(false);
      expect(await s.linear.insertDelivery(delivery('d2', 'key-1'))).toBe(false);
      const raced = await Promise.all(Array.from({ length: 10 }, (_, i) => s.linear.insertDelivery(delivery(`r${i}`, 'key-race'))));
      expect(raced.filter(Boolean)).toHaveLength(1);
      expect(await s.linear.countDeliveries()).toBe(2);
      expect(await s.linear.getDelivery('d1')).toMatchObject({ status: 'pending', attempts: 0, dedupe_key: 'key-1', payload: '{"id":"d1"}' });
    });

    it('claims each pending delivery once, oldest first, even with two workers racing', async () => {
      const s = await open();
      for (let i = 0; i < 6; i++) {
        clock += 1;
        await s.linear.insertDelivery(delivery(`d${i}`));
      }
      const [a, b] = await Promise.all([s.linear.claimDeliveries('worker-a', 60_000, 10), s.linear.claimDeliveries('worker-b', 60_000, 10)]);
      const ids = [...a, ...b].map((d) => d.id);
      expect(ids.sort()).toEqual(['d0', 'd1', 'd2', 'd3', 'd4', 'd5']);
      expect(new Set(ids).size).toBe(6);
      const first = (a.length ? a : b)[0]!;
      expect(first).toMatchObject({ status: 'processing', attempts: 1, lease_expires_at: clock + 60_000 });
      expect(await s.linear.claimDeliveries('worker-c', 60_000, 10)).toEqual([]);
    });

    it('takes over a delivery whose lease ran out; only the lease owner finishes it', async () => {
      const s = await open();
      await s.linear.insertDelivery(delivery('d1'));
      expect((await s.linear.claimDeliveries('dead', 1000, 10)).map((d) => d.id)).toEqual(['d1']);
      clock += 500;
      expect(await s.linear.claimDeliveries('alive', 1000, 10)).toEqual([]);
      clock += 1000;
      const taken = await s.linear.claimDeliveries('alive', 1000, 10);
      expect(taken).toMatchObject([{ id: 'd1', lease_owner: 'alive', attempts: 2 }]);
      await s.linear.finishDelivery('d1', 'dead', 'done', 'late');
      expect((await s.linear.getDelivery('d1'))!.status).toBe('processing');
      await s.linear.finishDelivery('d1', 'alive', 'done', '{"outcome":"created"}');
      expect(await s.linear.getDelivery('d1')).toMatchObject({ status: 'done', result: '{"outcome":"created"}', lease_owner: null, processed_at: clock });
      expect(await s.linear.claimDeliveries('alive', 1000, 10)).toEqual([]);
    });

    it('forgets processed deliveries after the window, keeping their dedupe until then', async () => {
      const s = await open();
      await s.linear.insertDelivery(delivery('old', 'key-old'));
      clock += 1;
      await s.linear.insertDelivery(delivery('waiting', 'key-waiting'));
      expect((await s.linear.claimDeliveries('w', 1000, 1)).map((d) => d.id)).toEqual(['old']);
      await s.linear.finishDelivery('old', 'w', 'done', '{}');
      clock += 8 * 3600_000 - 1;
      expect(await s.linear.purgeDeliveries(8 * 3600_000)).toBe(0);
      expect(await s.linear.insertDelivery(delivery('again', 'key-old'))).toBe(false);
      clock += 2;
      expect(await s.linear.purgeDeliveries(8 * 3600_000)).toBe(1);
      // An unprocessed delivery is never purged.
      expect(await s.linear.getDelivery('waiting')).toMatchObject({ status: 'pending' });
      expect(await s.linear.insertDelivery(delivery('again', 'key-old'))).toBe(true);
    });

    it("claims one delivery of a session (or issue) at a time, in the order Linear sent them, whichever arrived first", async () => {
      const s = await open();
      // The reply reached bgagent first (another process, a slower path), but Linear sent the session's start before it.
      await s.linear.insertDelivery(delivery('s-prompted', 'k1', { key: 'session-s', sentAt: 200 }));
      await s.linear.insertDelivery(delivery('s-created', 'k2', { key: 'session-s', sentAt: 100 }));
      await s.linear.insertDelivery(delivery('t-created', 'k3', { key: 'session-t', sentAt: 150 }));
      await s.linear.insertDelivery(delivery('loose', 'k4', { sentAt: 50 }));
      expect((await s.linear.claimDeliveries('a', 60_000, 10)).map((d) => d.id)).toEqual(['loose', 's-created', 't-created']);
      // A session's next event waits while one of its events is processed, in every process.
      expect(await s.linear.claimDeliveries('b', 60_000, 10)).toEqual([]);
      await s.linear.finishDelivery('s-created', 'a', 'done', '{}');
      expect((await s.linear.claimDeliveries('b', 60_000, 10)).map((d) => d.id)).toEqual(['s-prompted']);
    });

    it('a delivery whose processor died holds back the later ones of its key until it is taken over and done', async () => {
      const s = await open();
      await s.linear.insertDelivery(delivery('created', 'k1', { key: 'session-s', sentAt: 100 }));
      await s.linear.insertDelivery(delivery('prompted', 'k2', { key: 'session-s', sentAt: 200 }));
      expect((await s.linear.claimDeliveries('dead', 1000, 1)).map((d) => d.id)).toEqual(['created']);
      expect(await s.linear.claimDeliveries('alive', 1000, 10)).toEqual([]);
      clock += 1001;
      expect((await s.linear.claimDeliveries('alive', 1000, 10)).map((d) => d.id)).toEqual(['created']);
      expect(await s.linear.claimDeliveries('alive', 1000, 10)).toEqual([]);
      expect(await s.linear.finishDelivery('created', 'dead', 'done', 'late')).toBe(false);
      expect(await s.linear.finishDelivery('created', 'alive', 'done', '{}')).toBe(true);
      expect((await s.linear.claimDeliveries('alive', 1000, 10)).map((d) => d.id)).toEqual(['prompted']);
    });

    it('an earlier event that arrives while a later one is processed waits for it, and is not blocked by it for good when its processor dies', async () => {
      const s = await open();
      await s.linear.insertDelivery(delivery('later', 'k1', { key: 'session-s', sentAt: 2000 }));
      expect((await s.linear.claimDeliveries('dead', 1000, 1)).map((d) => d.id)).toEqual(['later']);
      // Linear retried an earlier event of the session only now.
      await s.linear.insertDelivery(delivery('earlier', 'k2', { key: 'session-s', sentAt: 1000 }));
      expect(await s.linear.claimDeliveries('alive', 1000, 10)).toEqual([]);
      clock += 5000;
      expect((await s.linear.claimDeliveries('alive', 1000, 10)).map((d) => d.id)).toEqual(['later']);
      expect(await s.linear.finishDelivery('later', 'alive', 'done', '{}')).toBe(true);
      expect((await s.linear.claimDeliveries('alive', 1000, 10)).map((d) => d.id)).toEqual(['earlier']);
    });

    it('claims only the first waiting delivery of each key, also with workers racing', async () => {
      const s = await open();
      for (const key of ['a', 'b', 'c', 'd', 'e']) {
        for (let n = 1; n <= 3; n++) await s.linear.insertDelivery(delivery(`${key}${n}`, `${key}${n}`, { key, sentAt: n }));
      }
      const raced = await Promise.all(['w1', 'w2', 'w3'].map((w) => s.linear.claimDeliveries(w, 60_000, 10)));
      expect(raced.flat().map((d) => d.id).sort()).toEqual(['a1', 'b1', 'c1', 'd1', 'e1']);
    });

    it('a delivery put back to be tried again waits until it is due and keeps the later ones of its key behind it', async () => {
      const s = await open();
      await s.linear.insertDelivery(delivery('created', 'k1', { key: 'session-s', sentAt: 100 }));
      await s.linear.insertDelivery(delivery('prompted', 'k2', { key: 'session-s', sentAt: 200 }));
      await s.linear.claimDeliveries('w', 1000, 10);
      expect(await s.linear.retryDelivery('created', 'other', 'lost', 10_000)).toBe(false);
      expect(await s.linear.retryDelivery('created', 'w', 'connect ECONNREFUSED', 10_000)).toBe(true);
      expect(await s.linear.getDelivery('created')).toMatchObject({ status: 'pending', lease_owner: null, result: 'connect ECONNREFUSED', not_before: clock + 10_000, attempts: 1 });
      clock += 9_999;
      expect(await s.linear.claimDeliveries('w', 1000, 10)).toEqual([]);
      clock += 1;
      expect(await s.linear.claimDeliveries('w', 1000, 10)).toMatchObject([{ id: 'created', attempts: 2 }]);
    });

    it("renews a lease only for its owner while the delivery is processed", async () => {
      const s = await open();
      await s.linear.insertDelivery(delivery('d1'));
      await s.linear.claimDeliveries('w', 1000, 10);
      clock += 900;
      expect(await s.linear.renewDeliveryLease('d1', 'w', 1000)).toBe(true);
      expect(await s.linear.renewDeliveryLease('d1', 'other', 1000)).toBe(false);
      clock += 900;
      expect(await s.linear.claimDeliveries('other', 1000, 10)).toEqual([]);
      await s.linear.finishDelivery('d1', 'w', 'done', '{}');
      expect(await s.linear.renewDeliveryLease('d1', 'w', 1000)).toBe(false);
    });

    it('migration 0006 keys the deliveries written before it that are still to be processed, in the order they were received', async () => {
      const database = target.name === 'postgres' ? await createTestDatabase() : undefined;
      const dataDir = tempDir();
      const db = openDb({ dataDir, databaseUrl: database?.url });
      try {
        const before = await new Migrator({ db: db.kysely, provider: migrationProvider(db.dialect) }).migrateTo('0005_linear_agent_sessions');
        expect(before.error).toBeUndefined();
        const rows: [string, string, string][] = [
          ['prompted', 'pending', JSON.stringify({ type: 'AgentSessionEvent', agentSession: { id: 'session-s' }, agentActivity: { id: 'act-1' } })],
          ['label', 'processing', JSON.stringify({ type: 'Issue', data: { id: 'issue-1' } })],
          ['old', 'done', JSON.stringify({ type: 'Issue', data: { id: 'issue-2' } })],
        ];
        for (const [i, [id, status, payload]] of rows.entries()) {
          await sql`insert into linear_deliveries (id, dedupe_key, type, action, payload, status, attempts, received_at) values (${id}, ${id}, 'x', 'y', ${payload}, ${status}, 0, ${1000 + i})`.execute(db.kysely);
        }
        await migrate(db);
        const after = await db.kysely.selectFrom('linear_deliveries').select(['id', 'ordering_key', 'webhook_timestamp', 'not_before']).orderBy('id').execute();
        expect(after).toEqual([
          { id: 'label', ordering_key: 'issue-1', webhook_timestamp: 1001, not_before: null },
          { id: 'old', ordering_key: null, webhook_timestamp: 1002, not_before: null },
          { id: 'prompted', ordering_key: 'session-s', webhook_timestamp: 1000, not_before: null },
        ]);
      } finally {
        await db.close();
        await database?.drop();
        rmSync(dataDir, { recursive: true, force: true });
      }
    });

    it('says a note once per issue and kind, also when racing', async () => {
      const s = await open();
      const raced = await Promise.all(Array.from({ length: 5 }, () => s.linear.noteOnce('issue-1', 'help')));
      expect(raced.filter(Boolean)).toHaveLength(1);
      expect(await s.linear.noteOnce('issue-1', 'queued:t1')).toBe(true);
      expect(await s.linear.noteOnce('issue-2', 'help')).toBe(true);
    });
  });
}
