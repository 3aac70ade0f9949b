import { createHash } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { Store } from '../store/index.js';
import { dedupeKey, orderingKey, peekOrganizationId, verifyLinearWebhook } from '../linear/webhook.js';
import { errorBody } from './errors.js';

export interface LinearWebhookDeps {
  store: Store;
  /** The fallback signing secret reference (LINEAR_WEBHOOK_SECRET). */
  defaultSecretRef: string | undefined;
  resolveSecret(ref: string): Promise<string>;
  /** A delivery was written: process it soon. */
  onAccepted(): void;
  onAck?(seconds: number): void;
}

const MAX_BODY = 1024 * 1024;

/**
 * `POST /v1/linear/webhook`: verify, write the delivery durably, then answer 200 — processing happens
 * afterwards from the table. A request that fails verification writes nothing.
 */
export async function linearWebhookRoutes(app: FastifyInstance, deps: LinearWebhookDeps): Promise<void> {
  app.addContentTypeParser('application/json', { parseAs: 'buffer', bodyLimit: MAX_BODY }, (_req, body, done) => done(null, body));

  app.post('/linear/webhook', { config: { access: 'public' }, bodyLimit: MAX_BODY }, async (req, reply) => {
    const started = process.hrtime.bigint();
    const raw = req.body;
    if (!Buffer.isBuffer(raw)) return reply.status(400).send(errorBody('VALIDATION_ERROR', 'send the webhook body as application/json', req.id));
    const peeked = peekOrganizationId(raw);
    if (!peeked.json) return reply.status(400).send(errorBody('VALIDATION_ERROR', 'the webhook body is not a JSON object', req.id));
    const orgId = peeked.organizationId;
    const workspace = orgId ? await deps.store.linear.getWorkspace(orgId) : undefined;
    if (workspace?.status === 'revoked') return reply.status(401).send(errorBody('UNAUTHORIZED', 'this workspace was revoked', req.id));
    const secretRef = workspace?.signing_secret_ref ?? deps.defaultSecretRef;
    if (!secretRef) {
      req.log.warn({ organizationId: orgId }, 'Linear webhook refused: no signing secret configured (LINEAR_WEBHOOK_SECRET or the workspace)');
      return reply.status(401).send(errorBody('UNAUTHORIZED', 'no signing secret is configured for this workspace', req.id));
    }
    let secret: string;
    try {
      secret = await deps.resolveSecret(secretRef);
    } catch (err) {
      req.log.error({ err, organizationId: orgId }, 'the Linear signing secret cannot be resolved');
      return reply.status(503).send(errorBody('SERVICE_UNAVAILABLE', 'the signing secret cannot be resolved; try again later', req.id));
    }
    const sigHeader = req.headers['linear-signature'];
    const verified = verifyLinearWebhook(raw, Array.isArray(sigHeader) ? sigHeader[0] : sigHeader, secret);
    if (!verified.ok) {
      req.log.warn({ reason: verified.reason, organizationId: orgId }, 'Linear webhook rejected');
      return reply.status(verified.status).send(errorBody(verified.status === 401 ? 'UNAUTHORIZED' : 'VALIDATION_ERROR', verified.reason, req.id));
    }
    const e = verified.envelope;
    const key = dedupeKey(e);
    const deliveryHeader = req.headers['linear-delivery'];
    const deliveryId = (Array.isArray(deliveryHeader) ? deliveryHeader[0] : deliveryHeader) || `derived-${createHash('sha256').update(key).digest('hex').slice(0, 32)}`;
    const inserted = await deps.store.linear.insertDelivery({
      id: deliveryId.slice(0, 200),
      dedupeKey: key,
      workspaceId: e.organizationId ?? null,
      type: e.type,
      action: e.action,
      payload: raw.toString('utf8'),
      orderingKey: orderingKey(e),
      webhookTimestamp: e.webhookTimestamp,
    });
    if (inserted) deps.onAccepted();
    deps.onAck?.(Number(process.hrtime.bigint() - started) / 1e9);
    return { status: inserted ? 'accepted' : 'duplicate', delivery_id: deliveryId };
  });
}
