import { afterEach, describe, expect, it } from 'vitest';
import { postgresSkipReason } from '../support/databases.js';
import { startInboundRig, type InboundRig } from './inbound.support.js';

/** On PostgreSQL an API process handles the Linear webhooks it accepts itself, without waiting for a worker. */
describe.skipIf(postgresSkipReason)('Linear webhooks on an api-role process', () => {
  let rig: InboundRig | undefined;
  afterEach(async () => {
    await rig?.destroy();
    rig = undefined;
  });

  it('processes an accepted delivery with no worker running: the task is created and a refusal is posted', async () => {
    rig = await startInboundRig({ dialect: 'postgres', env: { BGAGENT_ROLE: 'api' } });
    expect(rig.server.orchestrator.isRunning).toBe(false);

    const { payload } = rig.labelEvent();
    const accepted = await rig.send(payload);
    expect(accepted.status).toBe(200);
    expect(JSON.parse((await rig.processed(accepted.deliveryId)).result!)).toMatchObject({ outcome: 'created' });
    // Persisted for a worker to admit; nothing here runs it.
    expect((await rig.tasks()).map((t) => t.status)).toEqual(['SUBMITTED']);

    const { issue, payload: outside } = rig.labelEvent({ projectId: null });
    const refused = await rig.send(outside);
    expect(JSON.parse((await rig.processed(refused.deliveryId)).result!)).toMatchObject({ outcome: 'rejected' });
    expect(rig.rejections(issue.id)).toHaveLength(1);
  });
});
