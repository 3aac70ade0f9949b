import { afterEach, describe, expect, it } from 'vitest';
import type { LinearDeliveryWorker } from '../../src/linear/delivery-worker.js';
import type { Store } from '../../src/store/index.js';
import { storeTargets, type TestStore } from '../support/databases.js';
import { waitFor } from '../support/server.js';
import { captureLogs, LEVEL } from './capture-logs.js';
import { gate, insertSessionEvent, recorder, recordingWorker, sameDatabase } from './delivery-worker.support.js';

/** A delivery's lease lasts as long as its processing, however slow Linear is; a lost lease is said. */
for (const target of storeTargets) {
  describe.skipIf(target.skipReason)(`the Linear delivery lease on ${target.name}`, () => {
    let store: TestStore | undefined;
    let other: Store | undefined;
    const workers: LinearDeliveryWorker[] = [];
    let clock = 0;
    afterEach(async () => {
      await Promise.all(workers.splice(0).map((w) => w.stop()));
      await other?.close();
      await store?.destroy();
      store = other = undefined;
    });

    it('is renewed while a slow delivery is processed, so no other process runs it (or the next of its session) meanwhile', async () => {
      clock = 1_000_000;
      store = await target.open({ now: () => clock });
      other = await sameDatabase(store, () => clock);
      const r = recorder();
      const slow = gate();
      r.during.set('prompted-1', () => slow.wait);
      // A short lease, renewed every 100 ms of real time; the database's clock is the test's.
      const a = recordingWorker(store, r, { leaseMs: 300 });
      const b = recordingWorker(other, r, { leaseMs: 300 });
      workers.push(a, b);
      await insertSessionEvent(store, 'prompted-1', 'S', 'prompted', 100);
      await insertSessionEvent(store, 'prompted-2', 'S', 'prompted', 200);
      a.wake();
      await r.reached('start prompted-1');
      expect((await store.linear.getDelivery('prompted-1'))!.lease_expires_at).toBe(1_000_300);

      clock += 250;
      await waitFor(async () => ((await store!.linear.getDelivery('prompted-1'))!.lease_expires_at === 1_000_550 ? true : undefined), 5000, 'the lease to be renewed');
      clock += 250; // past the first lease, within the renewed one
      b.wake();
      await b.idle();
      expect(r.log).toEqual(['start prompted-1']);

      slow.open();
      await r.reached('end prompted-2');
      await Promise.all([a.idle(), b.idle()]);
      expect(r.log).toEqual(['start prompted-1', 'end prompted-1', 'start prompted-2', 'end prompted-2']);
      expect(await store.linear.getDelivery('prompted-1')).toMatchObject({ status: 'done', attempts: 1 });
    });

    it('a worker that lost the lease all the same (its process stalled) leaves the delivery to its new owner and logs a warning', async () => {
      clock = 1_000_000;
      store = await target.open({ now: () => clock });
      const logs = captureLogs();
      const r = recorder();
      const stalled = gate();
      r.during.set('created', () => stalled.wait);
      const a = recordingWorker(store, r, { logger: logs.logger });
      workers.push(a);
      await insertSessionEvent(store, 'created', 'S', 'created', 100);
      a.wake();
      await r.reached('start created');
      clock += 60_001;
      expect((await store.linear.claimDeliveries('new-owner', 60_000, 10)).map((d) => d.id)).toEqual(['created']);

      stalled.open();
      await a.idle();
      expect(await store.linear.getDelivery('created')).toMatchObject({ status: 'processing', lease_owner: 'new-owner' });
      expect(logs.entries().filter((e) => e.level === LEVEL.warn).map((e) => e.msg)).toContain('lost the lease on a Linear delivery: another process took it over and handles it again');
    });
  });
}
