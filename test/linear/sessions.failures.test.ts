import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { agentSessionCreated, agentSessionPrompted } from '../support/linear/agent-session-webhooks.js';
import { waitFor } from '../support/server.js';
import { line, startSessionRig, type SessionRig } from './sessions.support.js';

/** Nothing a person says in a session disappears without a word, even when bgagent cannot act on it. */
describe('a Linear agent session event bgagent cannot act on', () => {
  let rig: SessionRig | undefined;
  afterEach(async () => {
    await rig?.destroy();
    rig = undefined;
  });

  it('a reply in a session bgagent has no record of is answered with an error that says what to do', async () => {
    rig = await startSessionRig();
    const issue = rig.emu.state.addIssue({ title: 'Fix the footer', projectId: rig.project.id });
    const { session } = agentSessionCreated(rig.emu.state, { issue }); // its `created` never reached bgagent
    const reply = await rig.prompt(session, 'Any news?');
    expect(reply.outcome).toMatchObject({ outcome: 'rejected' });
    expect(rig.activities(session).map(line)).toEqual([
      "error: bgagent has no record of this session (its start never reached bgagent, or failed), so it can't act on this. Mention bgagent again to start a new session.",
    ]);
    expect(await rig.count('tasks')).toBe(0);
  });

  it('a reply that meets the database out of reach is tried again later instead of being refused', async () => {
    rig = await startSessionRig({ agentCommand: 'sleep 3' });
    const { session, deliveryId: created } = await rig.delegate({ projectId: rig.project.id });
    await rig.processed(created);
    const store = rig.server.store;
    const latestContinuation = store.tasks.latestContinuation.bind(store.tasks);
    let failures = 1;
    store.tasks.latestContinuation = async (id) => {
      if (failures-- > 0) throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
      return latestContinuation(id);
    };
    const sent = await rig.send(agentSessionPrompted(rig.emu.state, session, { body: 'Also fix the footer' }).payload);
    const waiting = await waitFor(async () => {
      const d = await store.linear.getDelivery(sent.deliveryId);
      return d?.status === 'pending' && d.attempts === 1 ? d : undefined;
    }, 10_000, 'the reply to be put back');
    expect(waiting.result).toContain('ECONNREFUSED');
    expect(rig.activities(session).map(line).filter((l) => l.startsWith('error'))).toEqual([]);

    // Due now rather than in 10 s: handled again, this time by the real path (a `command` agent refuses replies).
    await sql`update linear_deliveries set not_before = 0 where id = ${sent.deliveryId}`.execute(store.db.kysely);
    expect(await rig.processed(sent.deliveryId)).toMatchObject({ status: 'done', attempts: 2 });
    expect(rig.activities(session).map(line).filter((l) => l.startsWith('error'))).toEqual([expect.stringContaining('cannot take follow-ups')]);
  });

  it('a delegation that fails for good ends the session with an error: what happened, and what to do', async () => {
    rig = await startSessionRig();
    await sql`alter table linear_agent_sessions rename to linear_agent_sessions_gone`.execute(rig.server.store.db.kysely);
    const { session, deliveryId } = await rig.delegate({ projectId: rig.project.id });
    expect(await rig.processed(deliveryId)).toMatchObject({ status: 'failed', attempts: 1 });
    const error = await rig.activity(session, 'error');
    expect(error.content.body).toBe(
      `bgagent could not start on this because of an unexpected error (delivery \`${deliveryId}\`; an admin can find the details in the server log). Mention bgagent again to start over.`,
    );
  });
});
