import { afterEach, describe, expect, it } from 'vitest';
import type { NewDelivery } from '../../src/store/linear.js';
import { storeTargets, type TestStore } from '../support/databases.js';

const delivery = (id: string, dedupeKey = `Issue:${id}:update:1`): NewDelivery => ({ id, dedupeKey, workspaceId: 'org-1', type: 'Issue', action: 'update', payload: `{"id":"${id}"}` });

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

    it('says a note once per issue and kind, also when racing', async () => {
      const s = await open();
      const raced = await Promise.all(Array.from({ length: 5 }, () => s.linear.noteOnce('issue-1', 'help')));
      expect(raced.filter(Boolean)).toHaveLength(1);
      expect(await s.linear.noteOnce('issue-1', 'queued:t1')).toBe(true);
      expect(await s.linear.noteOnce('issue-2', 'help')).toBe(true);
    });
  });
}
