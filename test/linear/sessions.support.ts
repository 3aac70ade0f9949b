import { expect } from 'vitest';
import type { Logger } from '../../src/log.js';
import { agentSessionCreated, agentSessionPrompted, type AgentSessionWebhook } from '../support/linear/agent-session-webhooks.js';
import type { EmAgentActivity, EmAgentSession, EmIssue, EmUser } from '../support/linear/emulator.js';
import { waitFor } from '../support/server.js';
import { startLifecycleRig, type LifecycleRig } from './lifecycle.support.js';

export const PUBLIC_URL = 'https://bgagent.example.test';

export interface SessionRig extends LifecycleRig {
  /** Delegates a new issue (in `projectId`, default the GitHub project) to bgagent: the session in the emulator and its signed `created` webhook. */
  delegate(opts?: { projectId?: string | null; stateName?: string; creator?: EmUser | null }): Promise<Delegation>;
  /** A reply in the session (`stop` to press stop). */
  prompt(session: EmAgentSession, body: string, signal?: 'stop'): Promise<{ deliveryId: string; outcome: any }>;
  /** Sends a webhook and waits for its processing outcome. */
  deliver(payload: AgentSessionWebhook): Promise<{ deliveryId: string; outcome: any }>;
  /** The activities bgagent posted to a session, oldest first (people's prompts left out). */
  activities(session: EmAgentSession): EmAgentActivity[];
  /** Waits for the session's activity of `type` (the `n`th, default 1st). */
  activity(session: EmAgentSession, type: string, n?: number): Promise<EmAgentActivity>;
}

export interface Delegation {
  issue: EmIssue;
  session: EmAgentSession;
  deliveryId: string;
  /** When the webhook was sent (epoch ms). */
  sentAt: number;
}

/** The lifecycle rig (real server, Linear and GitHub emulators), with the public URL set and helpers for agent sessions. */
export async function startSessionRig(opts: { agentCommand?: string; env?: Record<string, string>; logger?: Logger } = {}): Promise<SessionRig> {
  const rig = await startLifecycleRig({ ...opts, env: { BGAGENT_PUBLIC_URL: PUBLIC_URL, ...opts.env } });
  const state = rig.emu.state;
  const deliver = async (payload: AgentSessionWebhook) => {
    const res = await rig.send(payload);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const delivery = await rig.processed(res.deliveryId);
    return { deliveryId: res.deliveryId, outcome: JSON.parse(delivery.result ?? 'null') };
  };
  const activities = (session: EmAgentSession) => state.activitiesOf(session.id).filter((a) => a.content.type !== 'prompt').sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  return Object.assign(rig, {
    async delegate(o: { projectId?: string | null; stateName?: string; creator?: EmUser | null } = {}) {
      const projectId = o.projectId === undefined ? rig.githubProject.id : (o.projectId ?? undefined);
      const stateId = o.stateName ? rig.emu.seeded!.states[o.stateName]!.id : undefined;
      const issue = state.addIssue({ title: 'Fix the login page', description: 'The button is misaligned.', projectId, stateId });
      const { session, payload } = agentSessionCreated(state, { issue, creator: o.creator });
      const sentAt = Date.now();
      const res = await rig.send(payload);
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      return { issue, session, deliveryId: res.deliveryId, sentAt };
    },
    async prompt(session: EmAgentSession, body: string, signal?: 'stop') {
      return deliver(agentSessionPrompted(state, session, { body, signal }).payload);
    },
    deliver,
    activities,
    activity(session: EmAgentSession, type: string, n = 1) {
      return waitFor(() => activities(session).filter((a) => a.content.type === type)[n - 1], 20_000, `${type} activity #${n} on the session`);
    },
  }) as SessionRig;
}

/** An activity as one short line, for readable assertions: `thought: Got it…`, `action: Running npm test → ok`. */
export function line(a: EmAgentActivity): string {
  const c = a.content as { type: string; body?: string; action?: string; parameter?: string; result?: string };
  if (c.type === 'action') return `action: ${c.action} ${c.parameter}${c.result ? ` → ${c.result}` : ''}`;
  return `${c.type}: ${c.body}`;
}
