import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { getViewer, postComment } from '../../src/linear/api.js';
import { LinearClient, type LinearClientOptions } from '../../src/linear/client.js';
import { LinearApiError, LinearRateLimitedError } from '../../src/linear/errors.js';
import { startLinearEmulator, type LinearEmulator } from '../support/linear/emulator.js';

describe('LinearClient retries, timeouts and rate limits', () => {
  let emu: LinearEmulator;
  let waits: number[];

  const client = (opts: Partial<LinearClientOptions> = {}) =>
    new LinearClient({
      apiUrl: emu.url,
      getToken: async () => emu.seeded!.apiKey,
      // The waits are recorded, not slept: the behaviour under test is how long the client decides to wait.
      sleep: async (ms) => {
        waits.push(ms);
      },
      ...opts,
    });

  beforeAll(async () => {
    emu = await startLinearEmulator();
  });
  beforeEach(() => {
    waits = [];
    emu.clearFailures();
    emu.calls.length = 0;
  });
  afterAll(async () => {
    await emu.close();
  });

  it('retries a 5xx with exponential backoff and jitter, then succeeds', async () => {
    emu.failNext({ kind: 'http', status: 503 }, { times: 2 });
    const viewer = await getViewer(client({ retryBaseDelayMs: 100, random: () => 1 }));
    expect(viewer.id).toBe(emu.seeded!.viewer.id);
    expect(emu.calls.map((c) => c.status)).toEqual([503, 503, 200]);
    expect(waits).toEqual([100, 200]);
  });

  it('keeps jittered delays between half and all of the exponential step', async () => {
    emu.failNext({ kind: 'http', status: 500 }, { times: 3 });
    await getViewer(client({ retryBaseDelayMs: 100, random: () => 0 }));
    expect(waits).toEqual([50, 100, 200]);
  });

  it('retries a dropped connection', async () => {
    emu.failNext({ kind: 'network' });
    await getViewer(client());
    expect(emu.calls.map((c) => c.failure ?? c.status)).toEqual(['network', 200]);
  });

  it('gives up after maxRetries with a LinearApiError that names the cause', async () => {
    emu.failNext({ kind: 'http', status: 502 }, { times: 'always' });
    const err = await getViewer(client({ maxRetries: 2 })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LinearApiError);
    expect(err).toMatchObject({ code: 'HTTP_ERROR', status: 502, operationName: 'Viewer' });
    expect(emu.calls).toHaveLength(3);
  });

  it('times a hanging query out and retries it', async () => {
    emu.failNext({ kind: 'timeout' });
    await getViewer(client({ timeoutMs: 150 }));
    expect(emu.calls.map((c) => c.failure ?? c.status)).toEqual(['timeout', 200]);
  });

  it('does not resend a mutation that timed out (it may have been applied)', async () => {
    const issue = emu.state.addIssue({ title: 'Slow' });
    emu.failNext({ kind: 'timeout' });
    const err = await postComment(client({ timeoutMs: 150 }), issue.id, 'hello').catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'LinearApiError', code: 'TIMEOUT', operationName: 'CommentCreate' });
    expect(emu.calls).toHaveLength(1);
  });

  it('waits until the advertised X-RateLimit-Requests-Reset before retrying RATELIMITED (HTTP 400)', async () => {
    emu.failNext({ kind: 'ratelimited', resetInMs: 4000 });
    await getViewer(client());
    expect(emu.calls.map((c) => c.failure ?? c.status)).toEqual(['ratelimited', 200]);
    expect(waits).toHaveLength(1);
    // The reset is an absolute epoch-ms instant; the client waits from its own "now", a few ms later.
    expect(waits[0]).toBeGreaterThan(3500);
    expect(waits[0]).toBeLessThanOrEqual(4000);
  });

  it('prefers Retry-After, accepts HTTP 429, and caps the wait', async () => {
    emu.failNext({ kind: 'ratelimited', status: 429, retryAfterSeconds: 7, resetInMs: 60_000 });
    await getViewer(client());
    expect(waits).toEqual([7000]);

    waits = [];
    emu.failNext({ kind: 'ratelimited', resetInMs: 3_600_000 });
    await getViewer(client({ maxRateLimitWaitMs: 30_000 }));
    expect(waits).toEqual([30_000]);
  });

  it('throws LinearRateLimitedError when still limited after the retries', async () => {
    emu.failNext({ kind: 'ratelimited', resetInMs: 1000 }, { times: 'always' });
    const err = await getViewer(client({ maxRetries: 1 })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LinearRateLimitedError);
    expect(err).toMatchObject({ code: 'RATELIMITED', status: 400 });
    expect((err as LinearRateLimitedError).retryAfterMs).toBeGreaterThan(0);
    expect(emu.calls).toHaveLength(2);
  });

  it('reports a network failure to an unreachable endpoint as NETWORK_ERROR', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise((resolve) => closed.close(resolve));
    const unreachable = new LinearClient({ apiUrl: `http://127.0.0.1:${port}/graphql`, getToken: async () => 'k', maxRetries: 1, sleep: async () => {} });
    const err = await getViewer(unreachable).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'NETWORK_ERROR', operationName: 'Viewer' });
    expect((err as Error).message).toMatch(/ECONNREFUSED/);
  });
});
