import { createHmac, randomUUID } from 'node:crypto';
import { expect } from 'vitest';
import type { Logger } from '../../src/log.js';
import type { LinearDelivery } from '../../src/store/linear.js';
import { createBareRemote } from '../support/git-repos.js';
import { startLinearEmulator, type EmIssue, type EmLabel, type EmProject, type LinearEmulator } from '../support/linear/emulator.js';
import { startTestServer, waitFor, type TestServer } from '../support/server.js';

/** The signing secret every rig registers with `POST /v1/linear/setup`. */
export const SIGNING_SECRET = 'whsec_inbound_tests_0123456789';

export interface InboundRig {
  server: TestServer;
  emu: LinearEmulator;
  /** A Linear project mapped to the repo `demo`. */
  project: EmProject;
  /** Sends a signed webhook; returns the HTTP status and body. */
  send(payload: unknown, opts?: SendOptions): Promise<{ status: number; body: any; deliveryId: string }>;
  /** An issue in the emulator and an Issue webhook that puts `labels` on it (default: the `bgagent` label). */
  labelEvent(opts?: LabelEventOptions): { issue: EmIssue; payload: IssueWebhook };
  /** Waits until the delivery was processed and returns it. */
  processed(deliveryId: string): Promise<LinearDelivery>;
  comments(issueId: string): string[];
  /** The comments that refuse work (what `linearMessages` says when bgagent will not start a task). */
  rejections(issueId: string): string[];
  reactions(issueId: string): string[];
  count(table: 'tasks' | 'linear_deliveries'): Promise<number>;
  tasks(): Promise<{ id: string; channel_source: string; channel_metadata: string; status: string; task_description: string }[]>;
  destroy(): Promise<void>;
}

export interface SendOptions {
  deliveryId?: string;
  /** Override the signature (default: HMAC-SHA256 of the body with SIGNING_SECRET). */
  signature?: string;
  /** Send this exact body instead of JSON.stringify(payload). */
  rawBody?: string;
}

export interface LabelEventOptions {
  action?: 'create' | 'update';
  /** Default: the rig's project. `null`: the issue is in no project. */
  projectId?: string | null;
  labels?: EmLabel[];
  /** On update: the labels the issue had before (default none, so `labels` were just added). */
  labelsBefore?: EmLabel[];
  title?: string;
  description?: string;
  /** `null` leaves the actor out. */
  actor?: { id: string; name: string } | null;
  /** `null` leaves the organization out. */
  organizationId?: string | null;
  webhookTimestamp?: number;
  issue?: EmIssue;
}

const REJECTION_OPENINGS = ["bgagent can't work on this issue", 'bgagent refused this task', 'bgagent is temporarily unavailable', 'bgagent could not start this task'];

export type IssueWebhook = Record<string, unknown> & { data: Record<string, unknown>; webhookTimestamp: number };

export function sign(body: string, secret = SIGNING_SECRET): string {
  return createHmac('sha256', secret).update(body).digest('hex');
}

/**
 * The real server wired to the Linear emulator: the workspace set up through `POST /v1/linear/setup`,
 * repo `demo` onboarded (agent: `true`), a project mapped to it, and the seeded person (Ada) linked to `ada`.
 */
export async function startInboundRig(opts: { dialect?: 'sqlite' | 'postgres'; env?: Record<string, string>; logger?: Logger; agentCommand?: string } = {}): Promise<InboundRig> {
  const emu = await startLinearEmulator();
  const seeded = emu.seeded!;
  const server = await startTestServer({ dialect: opts.dialect ?? 'sqlite', logger: opts.logger, env: { LINEAR_API_URL: emu.url, ...opts.env } });
  const setup = await server.api('POST', '/v1/linear/setup', { body: { api_key: seeded.apiKey, signing_secret: SIGNING_SECRET } });
  expect(setup.status, JSON.stringify(setup.body)).toBe(200);
  const repo = await server.api('POST', '/v1/repos', { body: { name: 'demo', clone_url: createBareRemote().url, agent: 'command', agent_settings: { command: opts.agentCommand ?? 'true' } } });
  expect(repo.status, JSON.stringify(repo.body)).toBe(201);
  const project = emu.state.addProject({ name: 'Website' });
  const onboard = await server.api('POST', '/v1/linear/projects', { body: { project_id: project.id, repo: 'demo' } });
  expect(onboard.status, JSON.stringify(onboard.body)).toBe(201);
  const link = await server.api('POST', '/v1/linear/links', { body: { linear_user: seeded.human.email, user: 'ada' } });
  expect(link.status, JSON.stringify(link.body)).toBe(201);
  emu.calls.length = 0;

  const rig: InboundRig = {
    server,
    emu,
    project,
    async send(payload, o = {}) {
      const body = o.rawBody ?? JSON.stringify(payload);
      const deliveryId = o.deliveryId ?? randomUUID();
      const res = await fetch(`${server.url}/v1/linear/webhook`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'linear-signature': o.signature ?? sign(body), 'linear-delivery': deliveryId, 'linear-event': 'Issue' },
        body,
      });
      const text = await res.text();
      let parsed: unknown = text;
      try {
        parsed = JSON.parse(text);
      } catch {
        // not JSON
      }
      return { status: res.status, body: parsed, deliveryId };
    },
    labelEvent(o = {}) {
      const labels = o.labels ?? [seeded.label];
      const projectId = o.projectId === undefined ? project.id : o.projectId;
      const issue =
        o.issue ??
        emu.state.addIssue({ title: o.title ?? 'Fix the login page', description: o.description ?? 'The button is misaligned.', projectId: projectId ?? undefined, labelIds: labels.map((l) => l.id) });
      const action = o.action ?? 'update';
      const payload: IssueWebhook = {
        action,
        type: 'Issue',
        createdAt: new Date().toISOString(),
        url: emu.state.issueUrl(issue),
        webhookTimestamp: o.webhookTimestamp ?? Date.now(),
        webhookId: 'wh-1',
        data: {
          id: issue.id,
          identifier: issue.identifier,
          title: o.title ?? issue.title,
          description: o.description ?? issue.description ?? null,
          teamId: issue.teamId,
          projectId,
          labelIds: labels.map((l) => l.id),
          labels: labels.map((l) => ({ id: l.id, name: l.name })),
          url: emu.state.issueUrl(issue),
        },
      };
      if (o.organizationId !== null) payload.organizationId = o.organizationId ?? seeded.organization.id;
      if (o.actor !== null) payload.actor = o.actor ?? { id: seeded.human.id, name: seeded.human.name, type: 'user' };
      if (action === 'update') payload.updatedFrom = { labelIds: (o.labelsBefore ?? []).map((l) => l.id), updatedAt: new Date().toISOString() };
      return { issue, payload };
    },
    async processed(deliveryId) {
      return waitFor(async () => {
        const d = await server.store.linear.getDelivery(deliveryId);
        return d && (d.status === 'done' || d.status === 'failed') ? d : undefined;
      }, 15_000, `delivery ${deliveryId} to be processed`);
    },
    comments: (issueId) => emu.state.commentsOn(issueId).map((c) => c.body),
    rejections: (issueId) => emu.state.commentsOn(issueId).map((c) => c.body).filter((b) => REJECTION_OPENINGS.some((o) => b.startsWith(o))),
    reactions: (issueId) => emu.state.reactionsOn({ issueId }).map((r) => r.emoji),
    async count(table) {
      const r = await server.store.db.kysely.selectFrom(table).select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
      return Number(r.n);
    },
    async tasks() {
      return server.store.db.kysely.selectFrom('tasks').select(['id', 'channel_source', 'channel_metadata', 'status', 'task_description']).orderBy('id').execute() as any;
    },
    async destroy() {
      await server.destroy();
      await emu.close();
    },
  };
  return rig;
}
