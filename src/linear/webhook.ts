import { LinearWebhookClient } from '@linear/sdk/webhooks';
import { z } from 'zod';

/** The envelope every Linear webhook shares; `data` is checked per event type by its consumer. */
export const webhookEnvelopeSchema = z.looseObject({
  type: z.string().min(1),
  action: z.string().min(1),
  webhookTimestamp: z.number().finite(),
  webhookId: z.string().optional(),
  organizationId: z.string().optional(),
  createdAt: z.string().optional(),
  url: z.string().optional(),
  actor: z.looseObject({ id: z.string(), name: z.string().optional(), email: z.string().optional(), type: z.string().optional() }).optional(),
  data: z.looseObject({ id: z.string().optional() }).optional(),
  updatedFrom: z.record(z.string(), z.unknown()).optional(),
});

export type WebhookEnvelope = z.infer<typeof webhookEnvelopeSchema>;

export type VerifyFailure = { ok: false; status: 400 | 401; reason: string };
export type VerifyResult = { ok: true; envelope: WebhookEnvelope } | VerifyFailure;

/**
 * Parses the raw body far enough to find the workspace whose secret verifies it (nothing is trusted yet).
 * `json: false` when the body is not a JSON object at all (refused as malformed before any secret is looked up).
 */
export function peekOrganizationId(rawBody: Buffer): { json: boolean; organizationId: string | undefined } {
  try {
    const v = JSON.parse(rawBody.toString('utf8')) as { organizationId?: unknown } | null;
    if (!v || typeof v !== 'object' || Array.isArray(v)) return { json: false, organizationId: undefined };
    return { json: true, organizationId: typeof v.organizationId === 'string' ? v.organizationId : undefined };
  } catch {
    return { json: false, organizationId: undefined };
  }
}

/**
 * Verifies `Linear-Signature` (HMAC-SHA256 of the raw body, constant-time compare, via @linear/sdk's
 * LinearWebhookClient) and that the signed `webhookTimestamp` is within ±60 s, then checks the envelope.
 * A bad signature is 401; a stale timestamp or a malformed body is 400.
 */
export function verifyLinearWebhook(rawBody: Buffer, signature: string | undefined, secret: string): VerifyResult {
  if (!secret) return { ok: false, status: 401, reason: 'no signing secret is configured for this workspace' };
  if (!signature || !/^[0-9a-f]{64}$/i.test(signature)) return { ok: false, status: 401, reason: 'missing or malformed Linear-Signature header' };
  let json: unknown;
  try {
    json = JSON.parse(rawBody.toString('utf8'));
  } catch {
    return { ok: false, status: 400, reason: 'body is not valid JSON' };
  }
  try {
    new LinearWebhookClient(secret).verify(rawBody, signature.toLowerCase());
  } catch (err) {
    const message = (err as Error).message;
    if (/signature/i.test(message)) return { ok: false, status: 401, reason: 'invalid Linear-Signature' };
    return { ok: false, status: 400, reason: 'webhookTimestamp is missing or more than 60 seconds away' };
  }
  const parsed = webhookEnvelopeSchema.safeParse(json);
  if (!parsed.success) return { ok: false, status: 400, reason: `malformed webhook: ${parsed.error.issues[0]?.path.join('.')} ${parsed.error.issues[0]?.message}` };
  return { ok: true, envelope: parsed.data };
}

/**
 * Redeliveries carry a new delivery id but the same entity, action and timestamp. Agent session events
 * carry no `data`, and each names what it is about for good: the person's new activity (`prompted`) or the
 * session (`created`); so they are keyed without the timestamp, and a resent reply is never passed on twice.
 */
export function dedupeKey(e: WebhookEnvelope): string {
  const event = sessionEventEntity(e);
  if (event) return `${e.type}:${event}:${e.action}`;
  const entity = e.data?.id ?? idOf(e.agentActivity) ?? idOf(e.agentSession) ?? '-';
  return `${e.type}:${entity}:${e.action}:${e.webhookTimestamp}`;
}

/** A session is created once, and a person's activity prompts once: the id alone names the event. */
function sessionEventEntity(e: WebhookEnvelope): string | undefined {
  if (e.type !== 'AgentSessionEvent') return undefined;
  if (e.action === 'created') return idOf(e.agentSession);
  if (e.action === 'prompted') return idOf(e.agentActivity);
  return undefined;
}

/** What a delivery must stay in order with: its agent session, else its issue (or entity); null: nothing. */
export function orderingKey(e: WebhookEnvelope): string | null {
  return idOf(e.agentSession) ?? e.data?.id ?? null;
}

function idOf(v: unknown): string | undefined {
  const id = v && typeof v === 'object' ? (v as { id?: unknown }).id : undefined;
  return typeof id === 'string' ? id : undefined;
}
