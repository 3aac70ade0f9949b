import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sign, startInboundRig, type InboundRig } from './inbound.support.js';

describe('webhooks that fail verification are refused and write nothing', () => {
  let rig: InboundRig;
  beforeAll(async () => {
    rig = await startInboundRig();
  });
  afterAll(async () => {
    await rig.destroy();
  });

  async function expectNothingWritten() {
    // Give a wrongly accepted delivery the chance to be processed before counting.
    await new Promise((r) => setTimeout(r, 100));
    expect(await rig.count('linear_deliveries')).toBe(0);
    expect(await rig.count('tasks')).toBe(0);
    expect(rig.emu.calls).toHaveLength(0);
  }

  it('a bad signature is 401', async () => {
    const { payload } = rig.labelEvent();
    const wrong = await rig.send(payload, { signature: sign(JSON.stringify(payload), 'not-the-secret-at-all') });
    expect(wrong.status).toBe(401);
    expect(wrong.body.error.code).toBe('UNAUTHORIZED');
    const missing = await rig.send(payload, { signature: '' });
    expect(missing.status).toBe(401);
    // Signed, then changed in transit.
    const body = JSON.stringify(payload);
    const tampered = await rig.send(undefined, { rawBody: body.replace('Fix the login page', 'Delete everything'), signature: sign(body) });
    expect(tampered.status).toBe(401);
    await expectNothingWritten();
  });

  it('a stale webhookTimestamp is 400, even when correctly signed', async () => {
    for (const skew of [-120_000, 120_000]) {
      const res = await rig.send(rig.labelEvent({ webhookTimestamp: Date.now() + skew }).payload);
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('VALIDATION_ERROR');
    }
    await expectNothingWritten();
  });

  it('a malformed body is 400, even when correctly signed', async () => {
    const notJson = await rig.send(undefined, { rawBody: '{"type":"Issue",' });
    expect(notJson.status).toBe(400);
    const noType = rig.labelEvent().payload as Record<string, unknown>;
    delete noType.type;
    const missingType = await rig.send(noType);
    expect(missingType.status).toBe(400);
    expect(missingType.body.error.code).toBe('VALIDATION_ERROR');
    await expectNothingWritten();
  });

  it('an oversized body is 413', async () => {
    const { payload } = rig.labelEvent({ description: 'x'.repeat(2 * 1024 * 1024) });
    const res = await rig.send(payload);
    expect(res.status).toBe(413);
    await expectNothingWritten();
  });

  it('a secret never appears in an error body', async () => {
    const { payload } = rig.labelEvent();
    const res = await rig.send(payload, { signature: '0'.repeat(64) });
    expect(res.status).toBe(401);
    expect(JSON.stringify(res.body)).not.toContain('whsec_');
    await expectNothingWritten();
  });
});

describe('setting the workspace up again', () => {
  it('keeps the signing secret when only the API key is given', async () => {
    const rig = await startInboundRig();
    try {
      const again = await rig.server.api('POST', '/v1/linear/setup', { body: { api_key: rig.emu.seeded!.apiKey } });
      expect(again.status).toBe(200);
      expect(again.body.workspace.signing_secret_ref).toBe(`db:linear-${again.body.workspace.id}-signing-secret`);
      expect(again.body.webhook_url).toBe(`${rig.server.url}/v1/linear/webhook`);
      const res = await rig.send(rig.labelEvent().payload);
      expect(res.status).toBe(200);
      expect(JSON.parse((await rig.processed(res.deliveryId)).result!).outcome).toBe('created');
    } finally {
      await rig.destroy();
    }
  });
});
