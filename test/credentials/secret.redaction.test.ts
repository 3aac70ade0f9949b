import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { CredentialResolver } from '../../src/credentials/resolver.js';
import { Secret } from '../../src/credentials/secret.js';
import { capturedLogger } from './aws-stub.js';

const VALUE = 'sk-very-secret-0123456789';

describe('Secret redaction', () => {
  it('reveals the value only through reveal()', () => {
    const s = new Secret(VALUE);
    expect(s.reveal()).toBe(VALUE);
    expect(String(s)).toBe('[redacted]');
    expect(`${s}`).toBe('[redacted]');
    expect(s + '').toBe('[redacted]');
    expect(JSON.stringify({ token: s, nested: { s } })).toBe('{"token":"[redacted]","nested":{"s":"[redacted]"}}');
    expect(inspect(s)).toBe('[redacted]');
    expect(inspect({ deep: { deeper: [s] } }, { depth: 10 })).not.toContain(VALUE);
    expect(Object.keys(s)).toEqual([]);
    expect(Object.values(s)).toEqual([]);
  });

  it('is redacted in pino log lines under any key', () => {
    const log = capturedLogger();
    const s = new Secret(VALUE);
    log.logger.info({ credential: s, nested: { value: s } }, `message with ${s}`);
    log.logger.error({ err: new Error(`failed with ${s}`) }, 'oops');
    expect(log.text()).toContain('[redacted]');
    expect(log.text()).not.toContain(VALUE);
  });

  it('never puts a resolved value in resolver logs or error messages', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'bgagent-cred-'));
    try {
      const log = capturedLogger();
      const resolver = new CredentialResolver({ dataDir, env: { TOKEN: VALUE }, logger: log.logger });
      const s = await resolver.resolve('env:TOKEN');
      expect(s.reveal()).toBe(VALUE);
      const err = (await resolver.resolve('vault:missing').catch((e: unknown) => e)) as Error;
      expect(err.message).toBe('vault:missing: no entry "missing" in the local vault');
      await resolver.resolve(VALUE); // a literal: WARNs without the value
      expect(JSON.stringify(await resolver.check(VALUE))).not.toContain(VALUE);
      expect(log.text()).not.toContain(VALUE);
      expect(inspect(err)).not.toContain(VALUE);
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
