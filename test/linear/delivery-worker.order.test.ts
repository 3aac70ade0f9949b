import { afterEach, describe, expect, it } from 'vitest';
import type { LinearDeliveryWorker } from '../../src/linear/delivery-worker.js';
import type { Store } from '../../src/store/index.js';
import { storeTargets, type TestStore } from '../support/databases.js';
import { gate, insertSessionEvent, recorder, recordingWorker, sameDatabase } from './delivery-worker.support.js';

/** Deliveries of one agent session (or issue) one at a time and in order, in one process or several; different sessions side by side. */
for (const target of storeTargets) {
  describe.skipIf(target.skipReason)(`the Linear delivery worker on ${target.name}`, () => {
    let store: TestStore | undefined;
    let other: Store | undefined;
    const workers: LinearDeliveryWorker[] = [];
    let clock = Date.now();
    afterEach(async () => {
      await Promise.all(workers.splice(0).map((w) => w.stop()));
      await other?.close();
      await store?.destroy();
      store = other = undefined;
    });

    it("does not hold one session's first event behind another session's slow one, and keeps each session's events in order", async () => {
      store = await target.open();
      const r = recorder();
      await insertSessionEvent(store, 'd1', 'session-slow', 'created', 100);
      await insertSessionEvent(store, 'd2', 'session-slow', 'prompted', 200);
      await insertSessionEvent(store, 'd3', 'session-fast', 'created', 300);
      // d1 finishes only after d3 did: were d3 held behind it, nothing would move.
      r.during.set('d1', () => r.reached('end d3'));
      const worker = recordingWorker(store, r);
      workers.push(worker);
      worker.wake();
      await r.reached('end d2');
      await worker.idle();

      expect(r.log.indexOf('end d3')).toBeLessThan(r.log.indexOf('end d1'));
      expect(r.log.indexOf('start d2')).toBeGreaterThan(r.log.indexOf('end d1'));
      for (const id of ['d1', 'd2', 'd3']) expect((await store.linear.getDelivery(id))?.status).toBe('done');
    });

    it("a session's prompted accepted by process B waits until process A has finished the session's created", async () => {
      store = await target.open();
      other = await sameDatabase(store);
      const r = recorder();
      const slow = gate();
      r.during.set('created', () => slow.wait);
      const a = recordingWorker(store, r);
      const b = recordingWorker(other, r);
      workers.push(a, b);

      await insertSessionEvent(store, 'created', 'S', 'created', 100);
      a.wake();
      await r.reached('start created');
      await insertSessionEvent(other, 'prompted', 'S', 'prompted', 200);
      b.wake();
      await b.idle();
      expect(r.log).toEqual(['start created']);

      slow.open();
      await r.reached('end prompted');
      await Promise.all([a.idle(), b.idle()]);
      expect(r.log).toEqual(['start created', 'end created', 'start prompted', 'end prompted']);
    });

    it("a created claimed by a process that died holds the session's prompted back until its lease ran out and it was done again", async () => {
      clock = Date.now();
      store = await target.open({ now: () => clock });
      const r = recorder();
      await insertSessionEvent(store, 'created', 'S', 'created', 100);
      await insertSessionEvent(store, 'prompted', 'S', 'prompted', 200);
      expect((await store.linear.claimDeliveries('dead-worker', 60_000, 1)).map((d) => d.id)).toEqual(['created']);

      const live = recordingWorker(store, r);
      workers.push(live);
      live.wake();
      await live.idle();
      expect(r.log).toEqual([]);
      expect(await store.linear.getDelivery('prompted')).toMatchObject({ status: 'pending', attempts: 0 });

      clock += 60_001;
      live.wake();
      await r.reached('end prompted');
      await live.idle();
      expect(r.log).toEqual(['start created', 'end created', 'start prompted', 'end prompted']);
      expect(await store.linear.getDelivery('created')).toMatchObject({ status: 'done', attempts: 2 });
    });
  });
}
