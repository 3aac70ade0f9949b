import { rmSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { openStore } from '../../src/store/index.js';
import { startTestServer, waitFor, type TestServer } from '../support/server.js';
import { captureLogs, LEVEL } from './capture-logs.js';
import { startInboundRig, type InboundRig } from './inbound.support.js';

describe('Linear inbound when Linear refuses the token, and across a crash', () => {
  let rig: InboundRig | undefined;
  let restarted: TestServer | undefined;
  afterEach(async () => {
    if (restarted) {
      await restarted.destroy();
      rmSync(restarted.dataDir, { recursive: true, force: true });
      await rig?.emu.close();
    } else {
      await rig?.destroy();
    }
    rig = undefined;
    restarted = undefined;
  });

  it('opens the auth circuit after 3 failures and wastes no further calls; webhooks are still accepted and tasks created', async () => {
    const logs = captureLogs();
    rig = await startInboundRig({ logger: logs.logger });
    rig.emu.failNext({ kind: 'auth' }, { times: 'always' });
    const reject = async () => {
      const res = await rig!.send(rig!.labelEvent({ projectId: null }).payload);
      expect(res.status).toBe(200);
      expect(JSON.parse((await rig!.processed(res.deliveryId)).result!).outcome).toBe('rejected');
    };
    const opened = () => logs.entries().filter((e) => e.level === LEVEL.error && /rejected the token repeatedly/.test(e.msg));
    // Each rejection sends a comment and a reaction at once (and retries each once with a fresh token).
    await reject();
    if (opened().length === 0) await reject();
    expect(opened()).toHaveLength(1);
    const callsWhenOpened = rig.emu.calls.length;
    expect(callsWhenOpened).toBeLessThanOrEqual(6);
    expect(rig.emu.calls.every((c) => c.failure === 'auth')).toBe(true);

    await reject();
    await reject();
    await reject();
    const happy = await rig.send(rig.labelEvent().payload);
    expect(happy.status).toBe(200);
    expect(JSON.parse((await rig.processed(happy.deliveryId)).result!).outcome).toBe('created');
    expect(await rig.count('tasks')).toBe(1);

    expect(rig.emu.calls).toHaveLength(callsWhenOpened);
    expect(opened()).toHaveLength(1);
    expect(logs.entries().filter((e) => e.level === LEVEL.debug && /auth circuit open/.test(e.msg)).length).toBeGreaterThanOrEqual(6);
    expect(logs.text()).not.toContain(rig.emu.seeded!.apiKey);
  });

  it('processes deliveries accepted before a crash after the restart: one never claimed, one claimed by a worker that died', async () => {
    rig = await startInboundRig();
    const { dataDir } = rig.server;
    const pending = rig.labelEvent({ title: 'Accepted, never processed' });
    const orphaned = rig.labelEvent({ title: 'Claimed by a worker that died' });
    await rig.server.close(1000);

    // What the webhook route had written before the crash, through the store itself.
    const longAgo = Date.now() - 10 * 60_000;
    const store = await openStore({ dataDir, now: () => longAgo });
    // The first is claimed by the worker that dies before the second arrives (claims go in Linear's order).
    for (const [id, e] of [['before-crash-1', orphaned], ['before-crash-2', pending]] as const) {
      const inserted = await store.linear.insertDelivery({
        id,
        dedupeKey: `Issue:${e.issue.id}:update:${e.payload.webhookTimestamp}`,
        workspaceId: rig.emu.seeded!.organization.id,
        type: 'Issue',
        action: 'update',
        payload: JSON.stringify(e.payload),
        orderingKey: e.issue.id,
        webhookTimestamp: e.payload.webhookTimestamp,
      });
      expect(inserted).toBe(true);
      if (id === 'before-crash-1') expect((await store.linear.claimDeliveries('dead-worker', 60_000, 1)).map((d) => d.id)).toEqual(['before-crash-1']);
    }
    await store.close();

    restarted = await startTestServer({ dialect: 'sqlite', dataDir, env: { LINEAR_API_URL: rig.emu.url } });
    const done = await waitFor(async () => {
      const ds = await Promise.all(['before-crash-1', 'before-crash-2'].map((id) => restarted!.store.linear.getDelivery(id)));
      return ds.every((d) => d?.status === 'done') ? ds : undefined;
    }, 15_000, 'both deliveries');
    expect(done.map((d) => JSON.parse(d!.result!).outcome)).toEqual(['created', 'created']);
    expect(done[0]!.attempts).toBe(2);
    const { body } = await restarted.api('GET', '/v1/tasks?limit=10');
    expect(body.tasks.map((t: { task_description: string }) => t.task_description.split('\n')[0]).sort()).toEqual(['Accepted, never processed', 'Claimed by a worker that died']);
    expect([...rig.emu.state.issues.keys()].flatMap((id) => rig!.rejections(id))).toEqual([]);
  });
});
