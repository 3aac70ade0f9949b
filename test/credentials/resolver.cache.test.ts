import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CredentialError } from '../../src/credentials/errors.js';
import type { CredentialProvider } from '../../src/credentials/providers/provider.js';
import type { CredentialReference } from '../../src/credentials/reference.js';
import { CredentialResolver } from '../../src/credentials/resolver.js';
import { capturedLogger, LEVEL } from './aws-stub.js';

/** A provider that counts fetches and can be held open to test in-flight sharing. */
class CountingProvider implements CredentialProvider {
  calls = 0;
  values: string[] = ['value-1', 'value-2', 'value-3', 'value-4'];
  gate: Promise<void> | undefined;
  failures: CredentialError[] = [];

  async fetch(ref: CredentialReference): Promise<string> {
    this.calls++;
    if (this.gate) await this.gate;
    const failure = this.failures.shift();
    if (failure) throw failure;
    if (ref.kind !== 'env') throw new Error('unexpected');
    return this.values[this.calls - 1] ?? 'value-n';
  }
}

let dataDir: string;
beforeEach(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'bgagent-cred-'));
});
afterEach(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

function setup(extra: { ttlMs?: number } = {}) {
  let clock = 1_000_000;
  const provider = new CountingProvider();
  const log = capturedLogger();
  const resolver = new CredentialResolver({
    dataDir,
    providers: { env: provider },
    now: () => clock,
    logger: log.logger,
    retry: { attempts: 3, baseDelayMs: 1 },
    ...extra,
  });
  return { resolver, provider, log, advance: (ms: number) => (clock += ms) };
}

describe('CredentialResolver cache', () => {
  it('serves a cached value without calling the provider again', async () => {
    const { resolver, provider } = setup();
    expect((await resolver.resolve('env:A')).reveal()).toBe('value-1');
    expect((await resolver.resolve('env:A')).reveal()).toBe('value-1');
    expect(provider.calls).toBe(1);
  });

  it('fetches again once the TTL has passed', async () => {
    const { resolver, provider, advance } = setup({ ttlMs: 60_000 });
    await resolver.resolve('env:A');
    advance(59_999);
    expect((await resolver.resolve('env:A')).reveal()).toBe('value-1');
    expect(provider.calls).toBe(1);
    advance(2);
    expect((await resolver.resolve('env:A')).reveal()).toBe('value-2');
    expect(provider.calls).toBe(2);
  });

  it('defaults the TTL to 300 seconds', async () => {
    const { resolver, provider, advance } = setup();
    await resolver.resolve('env:A');
    advance(299_000);
    await resolver.resolve('env:A');
    expect(provider.calls).toBe(1);
    advance(2_000);
    await resolver.resolve('env:A');
    expect(provider.calls).toBe(2);
  });

  it('shares one fetch among concurrent callers', async () => {
    const { resolver, provider } = setup();
    let open!: () => void;
    provider.gate = new Promise((r) => (open = r));
    const pending = Array.from({ length: 10 }, () => resolver.resolve('env:A'));
    open();
    const values = await Promise.all(pending);
    expect(provider.calls).toBe(1);
    expect(new Set(values.map((v) => v.reveal()))).toEqual(new Set(['value-1']));
  });

  it('keeps references apart', async () => {
    const { resolver, provider } = setup();
    const [a, b] = await Promise.all([resolver.resolve('env:A'), resolver.resolve('env:B')]);
    expect(provider.calls).toBe(2);
    expect(a.reveal()).not.toBe(b.reveal());
  });

  it('invalidate forces the next resolve to fetch', async () => {
    const { resolver, provider } = setup();
    await resolver.resolve('env:A');
    resolver.invalidate('env:A');
    expect((await resolver.resolve('env:A')).reveal()).toBe('value-2');
    expect(provider.calls).toBe(2);
  });

  it('does not cache a failure: the next resolve tries again', async () => {
    const { resolver, provider } = setup();
    provider.failures.push(new CredentialError('persistent', 'env:A', 'not set', 'export A'));
    await expect(resolver.resolve('env:A')).rejects.toBeInstanceOf(CredentialError);
    expect((await resolver.resolve('env:A')).reveal()).toBe('value-2');
  });
});

describe('CredentialResolver failures', () => {
  it('retries a transient failure with a WARN per failed attempt, then succeeds', async () => {
    const { resolver, provider, log } = setup();
    provider.failures.push(new CredentialError('transient', 'env:A', 'throttled'), new CredentialError('transient', 'env:A', 'throttled'));
    expect((await resolver.resolve('env:A')).reveal()).toBe('value-3');
    expect(provider.calls).toBe(3);
    const warns = log.lines.filter((l) => l.level === LEVEL.warn);
    expect(warns).toHaveLength(2);
    expect(warns[0]).toMatchObject({ ref: 'env:A', kind: 'transient', attempt: 1 });
    expect(log.lines.some((l) => l.level === LEVEL.error)).toBe(false);
  });

  it('gives up on a transient failure after the configured attempts, still at WARN', async () => {
    const { resolver, provider, log } = setup();
    provider.failures.push(...Array.from({ length: 3 }, () => new CredentialError('transient', 'env:A', 'throttled')));
    await expect(resolver.resolve('env:A')).rejects.toMatchObject({ kind: 'transient' });
    expect(provider.calls).toBe(3);
    expect(log.lines.filter((l) => l.level === LEVEL.warn)).toHaveLength(3);
    expect(log.lines.some((l) => l.level === LEVEL.error)).toBe(false);
  });

  it('does not retry a persistent failure and logs ERROR once per reference', async () => {
    const { resolver, provider, log } = setup();
    for (let i = 0; i < 3; i++) provider.failures.push(new CredentialError('persistent', 'env:A', 'access denied', 'grant it'));
    for (let i = 0; i < 3; i++) await expect(resolver.resolve('env:A')).rejects.toMatchObject({ kind: 'persistent', remedy: 'grant it' });
    expect(provider.calls).toBe(3);
    const errors = log.lines.filter((l) => l.level === LEVEL.error);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ ref: 'env:A', kind: 'persistent', remedy: 'grant it' });
  });

  it('turns an unexpected provider exception into a transient CredentialError', async () => {
    const resolver = new CredentialResolver({
      dataDir,
      providers: { env: { fetch: () => Promise.reject(new TypeError('boom')) } },
      retry: { attempts: 2, baseDelayMs: 1 },
    });
    await expect(resolver.resolve('env:A')).rejects.toMatchObject({ name: 'CredentialError', kind: 'transient' });
  });

  it('returns a literal value but WARNs once that it should be a reference', async () => {
    const { resolver, provider, log } = setup();
    expect((await resolver.resolve('plain-secret-value')).reveal()).toBe('plain-secret-value');
    await resolver.resolve('plain-secret-value');
    expect(provider.calls).toBe(0);
    const warns = log.lines.filter((l) => l.level === LEVEL.warn);
    expect(warns).toHaveLength(1);
    expect(warns[0]!.msg).toMatch(/literal secret/);
    expect(log.text()).not.toContain('plain-secret-value');
  });
});

describe('CredentialResolver.check', () => {
  it('reports ok, error with remedy, and warn for a literal, without values', async () => {
    const { resolver, provider } = setup();
    expect(await resolver.check('env:A')).toEqual({ ref: 'env:A', status: 'ok', message: 'resolves' });
    provider.failures.push(new CredentialError('persistent', 'env:B', 'environment variable B is not set', 'export B=...'));
    expect(await resolver.check('env:B')).toMatchObject({ ref: 'env:B', status: 'error', remedy: 'export B=...' });
    const literal = await resolver.check('hunter2-literal');
    expect(literal).toMatchObject({ ref: '(literal value)', status: 'warn' });
    expect(JSON.stringify(literal)).not.toContain('hunter2');
    expect(await resolver.check('vault:bad name')).toMatchObject({ status: 'error' });
  });

  it('maps unavailable and transient to their own statuses', async () => {
    const { resolver, provider } = setup();
    provider.failures.push(new CredentialError('unavailable', 'env:A', 'no region', 'set AWS_REGION'));
    expect(await resolver.check('env:A')).toMatchObject({ status: 'unavailable', remedy: 'set AWS_REGION' });
    provider.failures.push(...Array.from({ length: 3 }, () => new CredentialError('transient', 'env:B', 'throttled')));
    expect(await resolver.check('env:B')).toMatchObject({ status: 'warn' });
  });
});

describe('env provider through the resolver', () => {
  it('reads the injected environment and names the variable when it is missing', async () => {
    const resolver = new CredentialResolver({ dataDir, env: { MY_TOKEN: 'tok-123' } });
    expect((await resolver.resolve('env:MY_TOKEN')).reveal()).toBe('tok-123');
    await expect(resolver.resolve('env:OTHER')).rejects.toMatchObject({ kind: 'persistent', message: 'env:OTHER: environment variable OTHER is not set' });
  });
});
