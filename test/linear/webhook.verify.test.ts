import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { dedupeKey, verifyLinearWebhook } from '../../src/linear/webhook.js';

const secret = 'test-signing-secret';
const sign = (body: string, key = secret) => createHmac('sha256', key).update(body).digest('hex');
const body = (over: Record<string, unknown> = {}) =>
  JSON.stringify({ type: 'Issue', action: 'create', organizationId: 'org', webhookTimestamp: Date.now(), data: { id: 'i1' }, ...over });

describe('Linear webhook verification', () => {
  it('accepts a correctly signed, fresh webhook', () => {
    const b = body();
    const r = verifyLinearWebhook(Buffer.from(b), sign(b), secret);
    expect(r.ok && r.envelope.data?.id).toBe('i1');
  });

  it('rejects a wrong or missing signature with 401', () => {
    const b = body();
    expect(verifyLinearWebhook(Buffer.from(b), sign(b, 'other'), secret)).toMatchObject({ ok: false, status: 401 });
    expect(verifyLinearWebhook(Buffer.from(b), undefined, secret)).toMatchObject({ ok: false, status: 401 });
    expect(verifyLinearWebhook(Buffer.from(b), sign(b), '')).toMatchObject({ ok: false, status: 401 });
    // A signature over a different body (one byte changed) fails.
    expect(verifyLinearWebhook(Buffer.from(b.replace('i1', 'i2')), sign(b), secret)).toMatchObject({ ok: false, status: 401 });
  });

  it('rejects a stale or future timestamp and a malformed body with 400', () => {
    for (const ts of [Date.now() - 61_000, Date.now() + 61_000]) {
      const b = body({ webhookTimestamp: ts });
      expect(verifyLinearWebhook(Buffer.from(b), sign(b), secret)).toMatchObject({ ok: false, status: 400 });
    }
    const notJson = '{"type":';
    expect(verifyLinearWebhook(Buffer.from(notJson), sign(notJson), secret)).toMatchObject({ ok: false, status: 400 });
    const noType = JSON.stringify({ webhookTimestamp: Date.now(), action: 'create' });
    expect(verifyLinearWebhook(Buffer.from(noType), sign(noType), secret)).toMatchObject({ ok: false, status: 400 });
  });

  it('derives one dedupe key for redeliveries of one event', () => {
    const e = { type: 'Issue', action: 'update', webhookTimestamp: 123, data: { id: 'i1' } };
    expect(dedupeKey(e)).toBe(dedupeKey({ ...e, webhookId: 'other' }));
    expect(dedupeKey(e)).not.toBe(dedupeKey({ ...e, webhookTimestamp: 124 }));
  });
});
