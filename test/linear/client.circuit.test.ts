import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { getViewer } from '../../src/linear/api.js';
import { LinearClient, type LinearCallOutcome, type LinearClientOptions } from '../../src/linear/client.js';
import { LinearAuthError, LinearCircuitOpenError } from '../../src/linear/errors.js';
import { startLinearEmulator, type LinearEmulator } from '../support/linear/emulator.js';
import { captureLogs, LEVEL } from './capture-logs.js';

const REVOKED = 'lin_api_REVOKED_do_not_log_4f9a';

describe('LinearClient auth circuit breaker', () => {
  let emu: LinearEmulator;
  let logs: ReturnType<typeof captureLogs>;
  let invalidations: number;
  let outcomes: LinearCallOutcome[];

  const client = (opts: Partial<LinearClientOptions> = {}) =>
    new LinearClient({
      apiUrl: emu.url,
      getToken: async () => REVOKED,
      invalidateToken: () => {
        invalidations += 1;
      },
      logger: logs.logger,
      sleep: async () => {},
      onCall: (_op, outcome) => outcomes.push(outcome),
      ...opts,
    });
  const errorLines = () => logs.entries().filter((e) => e.level === LEVEL.error);
  const debugLines = () => logs.entries().filter((e) => e.level === LEVEL.debug);

  beforeAll(async () => {
    emu = await startLinearEmulator();
  });
  beforeEach(() => {
    logs = captureLogs();
    invalidations = 0;
    outcomes = [];
    emu.clearFailures();
    emu.calls.length = 0;
  });
  afterAll(async () => {
    await emu.close();
  });

  it('opens after 3 consecutive auth failures: one ERROR line, then no HTTP at all, one DEBUG line per skipped call', async () => {
    const linear = client();
    // First call: refused, token invalidated, retried once with a fresh token, refused again.
    await expect(getViewer(linear)).rejects.toBeInstanceOf(LinearAuthError);
    expect(emu.calls).toHaveLength(2);
    expect(invalidations).toBe(2);
    expect(linear.circuitOpen).toBe(false);
    // Second call: the third failure opens the circuit; no retry after that.
    await expect(getViewer(linear)).rejects.toBeInstanceOf(LinearAuthError);
    expect(emu.calls).toHaveLength(3);
    expect(linear.circuitOpen).toBe(true);

    for (let i = 0; i < 5; i++) await expect(getViewer(linear)).rejects.toBeInstanceOf(LinearCircuitOpenError);
    expect(emu.calls).toHaveLength(3);
    expect(errorLines()).toHaveLength(1);
    expect(errorLines()[0]).toMatchObject({ operationName: 'Viewer', consecutiveFailures: 3 });
    expect(debugLines().filter((e) => /circuit open/.test(e.msg))).toHaveLength(5);
    expect(outcomes).toEqual(['auth_error', 'auth_error', 'auth_error', ...Array(5).fill('circuit_open')]);
  });

  it('recovers when the refreshed token works, and that success resets the count', async () => {
    let token = REVOKED;
    const linear = client({
      getToken: async () => token,
      invalidateToken: () => {
        invalidations += 1;
        token = emu.seeded!.apiKey;
      },
    });
    expect((await getViewer(linear)).id).toBe(emu.seeded!.viewer.id);
    expect(emu.calls.map((c) => c.status)).toEqual([401, 200]);
    expect(invalidations).toBe(1);

    // Two more failures after the success do not open the circuit: the count started over.
    emu.failNext({ kind: 'auth' }, { times: 2 });
    await expect(getViewer(linear)).rejects.toBeInstanceOf(LinearAuthError);
    expect(linear.circuitOpen).toBe(false);
    await getViewer(linear);
    emu.failNext({ kind: 'auth' }, { times: 2 });
    await expect(getViewer(linear)).rejects.toBeInstanceOf(LinearAuthError);
    expect(linear.circuitOpen).toBe(false);
    emu.failNext({ kind: 'auth' });
    await expect(getViewer(linear)).rejects.toBeInstanceOf(LinearAuthError);
    expect(linear.circuitOpen).toBe(true);
    expect(errorLines()).toHaveLength(1);
  });

  it('counts HTTP 403 as an auth failure too', async () => {
    emu.failNext({ kind: 'http', status: 403, body: 'Forbidden' }, { times: 3 });
    const linear = client({ getToken: async () => emu.seeded!.apiKey });
    await expect(getViewer(linear)).rejects.toBeInstanceOf(LinearAuthError);
    await expect(getViewer(linear)).rejects.toBeInstanceOf(LinearAuthError);
    expect(linear.circuitOpen).toBe(true);
  });

  it('closes on resetCircuit() after a token refresh', async () => {
    let token = REVOKED;
    const linear = client({ getToken: async () => token });
    await getViewer(linear).catch(() => {});
    await getViewer(linear).catch(() => {});
    expect(linear.circuitOpen).toBe(true);
    token = emu.seeded!.apiKey;
    await expect(getViewer(linear)).rejects.toBeInstanceOf(LinearCircuitOpenError);
    linear.resetCircuit();
    expect(linear.circuitOpen).toBe(false);
    expect((await getViewer(linear)).id).toBe(emu.seeded!.viewer.id);
  });

  it('under concurrency: failures of one token count once, and the ERROR is logged once', async () => {
    // Answers are held until the whole wave of 20 has its answer, so every call sees the same token fail.
    let answered = 0;
    let release!: () => void;
    let wave = new Promise<void>((r) => (release = r));
    const gatedFetch: typeof fetch = async (input, init) => {
      const res = await fetch(input, init);
      const held = wave;
      if (++answered % 20 === 0) {
        release();
        wave = new Promise<void>((r) => (release = r));
      }
      await held;
      return res;
    };
    const linear = client({ fetchImpl: gatedFetch });
    await Promise.allSettled(Array.from({ length: 20 }, () => getViewer(linear)));
    // 20 calls with one bad token, 20 retries with the (still bad) fresh one: two failures counted, not 40.
    expect(emu.calls).toHaveLength(40);
    expect(invalidations).toBe(2);
    expect(linear.circuitOpen).toBe(false);
    expect(errorLines()).toHaveLength(0);

    const storm = await Promise.allSettled(Array.from({ length: 20 }, () => getViewer(linear)));
    expect(linear.circuitOpen).toBe(true);
    expect(emu.calls).toHaveLength(60);
    expect(storm.every((r) => r.status === 'rejected' && r.reason instanceof LinearAuthError)).toBe(true);
    expect(errorLines()).toHaveLength(1);

    await Promise.allSettled(Array.from({ length: 20 }, () => getViewer(linear)));
    expect(emu.calls).toHaveLength(60);
    expect(errorLines()).toHaveLength(1);
  });

  it('under an ungated storm: at most one retry per call, one ERROR when it opens, then silence', async () => {
    const linear = client();
    const results = await Promise.allSettled(Array.from({ length: 30 }, () => getViewer(linear)));
    expect(errorLines().length).toBeLessThanOrEqual(1);
    expect(emu.calls.length).toBeLessThanOrEqual(60);
    // However the answers interleaved, at most three more calls open it.
    for (let i = 0; i < 3 && !linear.circuitOpen; i++) await getViewer(linear).catch(() => {});
    expect(linear.circuitOpen).toBe(true);
    expect(errorLines()).toHaveLength(1);
    expect(results.every((r) => r.status === 'rejected' && (r.reason instanceof LinearAuthError || r.reason instanceof LinearCircuitOpenError))).toBe(true);
    const sent = emu.calls.length;
    await Promise.allSettled(Array.from({ length: 30 }, () => getViewer(linear)));
    expect(emu.calls).toHaveLength(sent);
  });

  it('serves many concurrent calls with a good token', async () => {
    const linear = client({ getToken: async () => emu.seeded!.apiKey });
    const viewers = await Promise.all(Array.from({ length: 25 }, () => getViewer(linear)));
    expect(new Set(viewers.map((v) => v.id))).toEqual(new Set([emu.seeded!.viewer.id]));
    expect(emu.calls).toHaveLength(25);
    expect(outcomes.every((o) => o === 'ok')).toBe(true);
  });

  it('never writes the token to logs or errors', async () => {
    const linear = client();
    const errors: unknown[] = [];
    emu.failNext({ kind: 'http', status: 503 });
    emu.failNext({ kind: 'ratelimited', resetInMs: 10 });
    for (let i = 0; i < 4; i++) await getViewer(linear).catch((e: unknown) => errors.push(e));
    expect(logs.entries().map((e) => e.level)).toEqual(expect.arrayContaining([LEVEL.warn, LEVEL.error, LEVEL.debug]));
    expect(logs.text()).not.toContain(REVOKED);
    for (const err of errors) {
      expect(String(err)).not.toContain(REVOKED);
      expect(JSON.stringify(err)).not.toContain(REVOKED);
    }
  });
});
