import { afterEach, describe, expect, it } from 'vitest';
import { MAX_ATTEMPTS, type LinearDeliveryWorker } from '../../src/linear/delivery-worker.js';
import { storeTargets, type TestStore } from '../support/databases.js';
import { captureLogs, LEVEL } from './capture-logs.js';
import { insertSessionEvent, recorder, recordingWorker } from './delivery-worker.support.js';

const unreachable = () => Object.assign(new Error('connect ECONNREFUSED 10.0.0.5:5432'), { code: 'ECONNREFUSED' });

/** A delivery that fails for a passing reason is tried again later, its session's later events waiting; one that fails for good is said in the session. */
for (const target of storeTargets) {
  describe.skipIf(target.skipReason)(`failed Linear deliveries on ${target.name}`, () => {
    let store: TestStore | undefined;
    const workers: LinearDeliveryWorker[] = [];
    let clock = 0;
    afterEach(async () => {
      await Promise.all(workers.splice(0).map((w) => w.stop()));
      await store?.destroy();
      store = undefined;
    });

    async function rig() {
      clock = 1_000_000;
      store = await target.open({ now: () => clock });
      const r = recorder();
      const worker = recordingWorker(store, r);
      workers.push(worker);
      await insertSessionEvent(store, 'created', 'S', 'created', 100);
      await insertSessionEvent(store, 'prompted', 'S', 'prompted', 200);
      const round = async () => {
        worker.wake();
        await worker.idle();
      };
      return { s: store, r, round };
    }

    it('the database out of reach: tried again after 10 s, then 30 s; the session’s reply waits for it and nothing is lost', async () => {
      const { s, r, round } = await rig();
      r.during.set('created', async (attempt) => {
        if (attempt < 3) throw unreachable();
      });
      await round();
      expect(await s.linear.getDelivery('created')).toMatchObject({ status: 'pending', attempts: 1, not_before: clock + 10_000, result: 'connect ECONNREFUSED 10.0.0.5:5432' });
      clock += 9_999;
      await round();
      expect(r.log).toEqual(['start created']);
      clock += 1;
      await round();
      expect(await s.linear.getDelivery('created')).toMatchObject({ status: 'pending', attempts: 2, not_before: clock + 30_000 });
      clock += 30_000;
      await round();
      expect(r.log).toEqual(['start created', 'start created', 'start created', 'end created', 'start prompted', 'end prompted']);
      expect(await s.linear.getDelivery('created')).toMatchObject({ status: 'done', attempts: 3 });
      expect(r.lost).toEqual([]);
    });

    it('the database out of reach while claiming: one ERROR, then one every 60 failed claims; the deliveries are processed once it is back', async () => {
      const { s, r } = await rig();
      let down = true;
      const linear = Object.assign(Object.create(s.linear) as typeof s.linear, {
        claimDeliveries: (...args: Parameters<typeof s.linear.claimDeliveries>) => (down ? Promise.reject(unreachable()) : s.linear.claimDeliveries(...args)),
      });
      const logs = captureLogs();
      const worker = recordingWorker({ ...s, linear }, r, { logger: logs.logger });
      workers.push(worker);
      const round = async () => {
        worker.wake();
        await worker.idle();
      };
      for (let i = 0; i < 130; i++) await round();
      expect(logs.entries().filter((e) => e.level === LEVEL.error).map((e) => e.failedClaims)).toEqual([1, 61, 121]);
      down = false;
      await round();
      await round();
      expect(r.log).toEqual(['start created', 'end created', 'start prompted', 'end prompted']);
      expect(logs.entries().filter((e) => e.level === LEVEL.info).map((e) => e.msg)).toContain('claiming Linear deliveries works again');
    });

    it('a delivery whose processor keeps dying is given up after the last try: the session is told, and its next event goes ahead', async () => {
      const { s, r, round } = await rig();
      for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
        expect((await s.linear.claimDeliveries('crashing', 1000, 1)).map((d) => d.id)).toEqual(['created']);
        clock += 1001; // the process died; its lease runs out
      }
      await round();
      expect(r.log).toEqual(['start prompted', 'end prompted']);
      expect(r.lost).toEqual(['created unexpected']);
      expect(await s.linear.getDelivery('created')).toMatchObject({ status: 'failed', attempts: MAX_ATTEMPTS + 1 });
    });

    it(`still out of reach at the ${MAX_ATTEMPTS}th try: failed, the session is told, and its next event goes ahead`, async () => {
      const { s, r, round } = await rig();
      r.during.set('created', async () => {
        throw unreachable();
      });
      for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
        await round();
        clock += 10 * 60_000;
      }
      await round();
      expect(r.log.filter((l) => l === 'start created')).toHaveLength(MAX_ATTEMPTS);
      expect(await s.linear.getDelivery('created')).toMatchObject({ status: 'failed', attempts: MAX_ATTEMPTS });
      expect(r.lost).toEqual(['created unavailable']);
      expect(r.log.slice(-2)).toEqual(['start prompted', 'end prompted']);
    });

    it('an unexpected error fails the delivery at once and the session is told', async () => {
      const { s, r, round } = await rig();
      r.during.set('created', async () => {
        throw new TypeError("Cannot read properties of undefined (reading 'id')");
      });
      await round();
      expect(await s.linear.getDelivery('created')).toMatchObject({ status: 'failed', attempts: 1, result: "Cannot read properties of undefined (reading 'id')" });
      expect(r.lost).toEqual(['created unexpected']);
      expect(r.log).toEqual(['start created', 'start prompted', 'end prompted']);
    });
  });
}
