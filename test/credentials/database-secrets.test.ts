import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { CredentialResolver, DatabaseSecretError, LocalVault, parseCredentialReference, type SealedSecretRows } from '../../src/credentials/index.js';
import { storeTargets, tempDir } from '../support/databases.js';

const dirs: string[] = [];
const dataDir = () => {
  const d = tempDir();
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** The table, in memory: what is stored is all the test inspects. */
class MemoryRows implements SealedSecretRows {
  readonly rows = new Map<string, string>();
  async get(name: string) {
    return this.rows.get(name);
  }
  async put(name: string, sealed: string) {
    this.rows.set(name, sealed);
  }
  async putIfAbsent(name: string, sealed: string) {
    if (!this.rows.has(name)) this.rows.set(name, sealed);
  }
  async remove(name: string) {
    return this.rows.delete(name);
  }
}

const secretsOf = (rows: SealedSecretRows, opts: { dataDir?: string; vaultKey?: string; env?: NodeJS.ProcessEnv } = {}) =>
  new CredentialResolver({ dataDir: opts.dataDir ?? dataDir(), vaultKey: opts.vaultKey, env: opts.env, secretRows: rows });

const HEX_KEY = randomBytes(32).toString('hex');

describe('secrets sealed in the database', () => {
  for (const [kind, vaultKey] of [['a 32-byte key', HEX_KEY], ['a passphrase', 'a long passphrase nobody guesses'], ['the key file', undefined]] as const) {
    it(`seal with ${kind}: AES-256-GCM, a fresh IV per write, readable by another process with the same key`, async () => {
      const rows = new MemoryRows();
      const dir = dataDir();
      const writer = secretsOf(rows, { dataDir: dir, vaultKey }).databaseSecrets!;
      await writer.set('canary', 'the-canary-value');
      const first = rows.rows.get('canary')!;
      await writer.set('canary', 'the-canary-value');
      expect(rows.rows.get('canary')).not.toBe(first);
      expect(first).not.toContain('the-canary-value');
      expect(Buffer.from(first.split('.').at(-1)!, 'base64url').toString('utf8')).not.toContain('canary');
      // Another process (its own resolver, sealer and scrypt salt), same key (and, for the key file, same data dir).
      expect((await secretsOf(rows, { dataDir: dir, vaultKey }).databaseSecrets!.get('canary'))?.reveal()).toBe('the-canary-value');
    });
  }

  it('another key gets an error naming BGAGENT_VAULT_KEY, not garbage', async () => {
    const rows = new MemoryRows();
    await secretsOf(rows, { vaultKey: HEX_KEY }).databaseSecrets!.set('canary', 'v');
    for (const other of [randomBytes(32).toString('hex'), 'a passphrase', undefined]) {
      const err = await secretsOf(rows, { vaultKey: other }).databaseSecrets!.get('canary').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(DatabaseSecretError);
      expect((err as DatabaseSecretError).message).toMatch(/BGAGENT_VAULT_KEY/);
      expect((err as DatabaseSecretError).remedy).toMatch(/same BGAGENT_VAULT_KEY/);
    }
    // And through a db: reference: a persistent credential error with the same remedy.
    await expect(secretsOf(rows, { vaultKey: 'another' }).resolve('db:canary')).rejects.toMatchObject({ kind: 'persistent', remedy: expect.stringMatching(/BGAGENT_VAULT_KEY/) });
  });

  it("a sealed value moved to another row's name does not open there", async () => {
    const rows = new MemoryRows();
    const secrets = secretsOf(rows, { vaultKey: HEX_KEY }).databaseSecrets!;
    await secrets.set('linear-oauth-workspace-a', 'tokens of a');
    rows.rows.set('linear-oauth-workspace-b', rows.rows.get('linear-oauth-workspace-a')!);
    await expect(secrets.get('linear-oauth-workspace-b')).rejects.toBeInstanceOf(DatabaseSecretError);
    const tampered = rows.rows.get('linear-oauth-workspace-a')!.replace(/.$/, (c) => (c === 'A' ? 'B' : 'A'));
    rows.rows.set('linear-oauth-workspace-a', tampered);
    await expect(secrets.get('linear-oauth-workspace-a')).rejects.toBeInstanceOf(DatabaseSecretError);
  });

  it('db: references resolve from the database; without one they are unavailable, with a remedy', async () => {
    expect(parseCredentialReference('db:linear-x-api-key')).toEqual({ kind: 'db', name: 'linear-x-api-key', display: 'db:linear-x-api-key' });
    expect(() => parseCredentialReference('db:not a name')).toThrow(/not a valid database secret name/);
    const rows = new MemoryRows();
    const resolver = secretsOf(rows, { vaultKey: HEX_KEY });
    await resolver.databaseSecrets!.set('linear-x-api-key', 'lin_api_value');
    expect((await resolver.resolve('db:linear-x-api-key')).reveal()).toBe('lin_api_value');
    await expect(resolver.resolve('db:missing')).rejects.toMatchObject({ kind: 'persistent', message: expect.stringContaining('no secret "missing"') });
    await expect(new CredentialResolver({ dataDir: dataDir() }).resolve('db:linear-x-api-key')).rejects.toMatchObject({ kind: 'unavailable' });
  });

  it('BGAGENT_VAULT_KEY as a credential reference: resolved for the vault and the database; vault: and db: refused', async () => {
    const rows = new MemoryRows();
    const dir = dataDir();
    const env = { VAULT_KEY_FROM_ENV: 'the passphrase in an environment variable' };
    const byRef = secretsOf(rows, { dataDir: dir, vaultKey: 'env:VAULT_KEY_FROM_ENV', env });
    await byRef.databaseSecrets!.set('canary', 'v');
    await byRef.vault.set('entry', 'secret', 'w');
    // The value the reference names is the key: the same as giving it directly.
    const direct = secretsOf(rows, { dataDir: dir, vaultKey: env.VAULT_KEY_FROM_ENV });
    expect((await direct.databaseSecrets!.get('canary'))?.reveal()).toBe('v');
    expect((await new LocalVault({ dataDir: dir, key: env.VAULT_KEY_FROM_ENV }).get('entry'))?.reveal()).toBe('w');
    // Not the text "env:VAULT_KEY_FROM_ENV" used as a passphrase.
    await expect(secretsOf(rows, { dataDir: dir, vaultKey: 'env:VAULT_KEY_FROM_ENV', env: {} }).databaseSecrets!.get('canary')).rejects.toMatchObject({ kind: 'persistent' });
    // Through a db: reference, a key that does not resolve is a persistent error that says so, not a database fault.
    await expect(secretsOf(rows, { dataDir: dir, vaultKey: 'env:VAULT_KEY_FROM_ENV', env: {} }).resolve('db:canary')).rejects.toMatchObject({
      kind: 'persistent',
      message: expect.stringContaining('the key (BGAGENT_VAULT_KEY) cannot be resolved'),
    });
    for (const ref of ['vault:key', 'db:key']) {
      await expect(secretsOf(rows, { vaultKey: ref }).databaseSecrets!.get('canary')).rejects.toThrow(/BGAGENT_VAULT_KEY cannot name a vault: or db: secret/);
    }
  });
});

for (const target of storeTargets) {
  describe.skipIf(target.skipReason)(`encrypted_secrets on ${target.name}`, () => {
    it('stores only sealed text, replaces and removes by name', async () => {
      const store = await target.open();
      try {
        const secrets = secretsOf(store.secrets, { vaultKey: HEX_KEY }).databaseSecrets!;
        await secrets.set('canary', 'first-canary-value');
        await secrets.set('canary', 'second-canary-value');
        expect((await secrets.get('canary'))?.reveal()).toBe('second-canary-value');
        const rows = await store.db.kysely.selectFrom('encrypted_secrets').selectAll().execute();
        expect(rows.map((r) => r.name).sort()).toEqual(['.key-check', 'canary']);
        expect(JSON.stringify(rows)).not.toContain('canary-value');
        expect(await secrets.remove('canary')).toBe(true);
        expect(await secrets.get('canary')).toBeUndefined();
      } finally {
        await store.destroy();
      }
    });

    it('a process with another key writes nothing: the first writer\'s key is recorded, and the others\' secrets stay readable', async () => {
      const store = await target.open();
      try {
        const first = secretsOf(store.secrets, { vaultKey: HEX_KEY }).databaseSecrets!;
        await first.set('shared', 'first-canary-value');
        const other = secretsOf(store.secrets, { vaultKey: randomBytes(32).toString('hex') }).databaseSecrets!;
        await expect(other.set('shared', 'second-canary-value')).rejects.toMatchObject({ message: expect.stringContaining('BGAGENT_VAULT_KEY'), remedy: expect.stringContaining('the same BGAGENT_VAULT_KEY') });
        await expect(other.set('another', 'second-canary-value')).rejects.toBeInstanceOf(DatabaseSecretError);
        await expect(other.verifyKey()).rejects.toThrow(/not the key the database's secrets are sealed with/);
        expect((await first.get('shared'))?.reveal()).toBe('first-canary-value');
        expect((await store.db.kysely.selectFrom('encrypted_secrets').select('name').execute()).map((r) => r.name).sort()).toEqual(['.key-check', 'shared']);
        // Another process with the first one's key (a second data dir, the same BGAGENT_VAULT_KEY) writes as before.
        await secretsOf(store.secrets, { vaultKey: HEX_KEY }).databaseSecrets!.set('another', 'third-canary-value');
      } finally {
        await store.destroy();
      }
    });
  });
}
