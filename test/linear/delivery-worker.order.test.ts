import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log.js';
import { LinearDeliveryWorker } from '../../src/linear/delivery-worker.js';
import type { SessionOutcome } from '../../src/linear/sessions/session-events.js';
import { storeTargets, type TestStore } from '../support/databases.js';

const sqlite = storeTargets.find((t) => t.name === 'sqlite')!;

/** Deliveries of one agent session (or issue) in arrival order; different sessions side by side. */
describe('the Linear delivery worker', () => {
  let store: TestStore | undefined;
  afterEach(async () => {
    await store?.destroy();
    store = undefined;
  });

  it("does not hold one session's first event behind another session's slow one, and keeps each session's events in order", async () => {
    store = await sqlite.open();
    const s = store;
    const event = (id: string, sessionId: string, action: string) =>
      s.linear.insertDelivery({
        id,
        dedupeKey: `AgentSessionEvent:${id}`,
        workspaceId: 'org-1',
        type: 'AgentSessionEvent',
        action,
        payload: JSON.stringify({ type: 'AgentSessionEvent', action, webhookTimestamp: Date.now(), organizationId: 'org-1', agentSession: { id: sessionId } }),
        orderingKey: sessionId,
        webhookTimestamp: Date.now(),
      });
    await event('d1', 'session-slow', 'created');
    await event('d2', 'session-slow', 'prompted');
    await event('d3', 'session-fast', 'created');

    const log: string[] = [];
    const worker = new LinearDeliveryWorker({
      store: s,
      logger: silentLogger,
      feedback: { reject: async () => {}, comment: async () => {} },
      onTaskCreated: () => {},
      agentSessions: async (payload, deliveryId): Promise<SessionOutcome> => {
        log.push(`start ${deliveryId}`);
        if (deliveryId === 'd1') await new Promise((r) => setTimeout(r, 800));
        log.push(`end ${deliveryId}`);
        return { outcome: 'ignored', reason: `test ${(payload as { action: string }).action}` };
      },
    });
    worker.wake();
    await worker.idle();

    expect(log.indexOf('end d3')).toBeLessThan(log.indexOf('end d1'));
    expect(log.indexOf('start d2')).toBeGreaterThan(log.indexOf('end d1'));
    for (const id of ['d1', 'd2', 'd3']) expect((await s.linear.getDelivery(id))?.status).toBe('done');
  });
});
