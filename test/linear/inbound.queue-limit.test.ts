import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { linearMessages } from '../../src/linear/messages.js';
import { tempDir } from '../support/databases.js';
import { waitFor } from '../support/server.js';
import { startInboundRig, type InboundRig } from './inbound.support.js';

describe('a Linear label when the person has BGAGENT_MAX_QUEUED_PER_USER tasks waiting', () => {
  let rig: InboundRig | undefined;
  const gate = join(tempDir(), 'release');
  afterEach(async () => {
    writeFileSync(gate, '');
    await rig?.destroy();
    rig = undefined;
  });

  it('is refused on the issue with what to do, and no task is created', async () => {
    rig = await startInboundRig({ env: { BGAGENT_MAX_QUEUED_PER_USER: '1' }, agentCommand: `while [ ! -e ${gate} ]; do sleep 0.05; done` });
    const r = rig;
    await r.server.store.db.kysely.updateTable('users').set({ max_concurrent: 1 }).where('name', '=', 'ada').execute();
    const label = async () => {
      const event = r.labelEvent();
      const res = await r.send(event.payload);
      expect(res.status).toBe(200);
      return { issue: event.issue, delivery: await r.processed(res.deliveryId) };
    };
    await label();
    // Ada's one slot runs the first task; the second waits; a third is one too many.
    await waitFor(async () => ((await r.tasks()).some((t) => t.status === 'RUNNING') ? true : undefined), 15_000, 'the first task to run');
    await label();
    const third = await label();

    expect(JSON.parse(third.delivery.result!)).toMatchObject({ outcome: 'rejected', reason: 'TOO_MANY_QUEUED_TASKS' });
    const message = linearMessages.validationRefused(
      'you already have 1 task waiting to start (at most 1 per user); try again when some have started, or cancel some (bgagent list --status SUBMITTED,QUEUED, then bgagent cancel ID)',
    );
    expect(r.comments(third.issue.id)).toEqual([message]);
    expect(r.reactions(third.issue.id)).toEqual(['x']);
    expect(await r.count('tasks')).toBe(2);
  });
});
