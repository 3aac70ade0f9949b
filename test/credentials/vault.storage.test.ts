import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalVault, VaultError } from '../../src/credentials/vault.js';

let root: string;
let dataDir: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'bgagent-vault-'));
  dataDir = join(root, 'data');
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

const mode = async (p: string) => (await stat(p)).mode & 0o777;

describe('LocalVault', () => {
  it('round-trips entries and lists them without values', async () => {
    const vault = new LocalVault({ dataDir });
    expect(await vault.set('linear-api-key', 'api-key', 'lin_api_secret_1')).toEqual({ created: true });
    await vault.set('gh', 'github-token', 'ghp_secret_2');
    expect((await vault.get('linear-api-key'))?.reveal()).toBe('lin_api_secret_1');
    expect(await vault.get('nope')).toBeUndefined();

    const list = await vault.list();
    expect(list.map((e) => [e.name, e.type])).toEqual([
      ['gh', 'github-token'],
      ['linear-api-key', 'api-key'],
    ]);
    expect(JSON.stringify(list)).not.toContain('secret_');
    expect(Date.parse(list[0]!.createdAt)).not.toBeNaN();

    // a second instance (another process, later) reads the same file with the key file
    expect((await new LocalVault({ dataDir }).get('gh'))?.reveal()).toBe('ghp_secret_2');
  });

  it('keeps createdAt on update and reports removal', async () => {
    const vault = new LocalVault({ dataDir });
    await vault.set('a', 'secret', 'one');
    const [before] = await vault.list();
    await new Promise((r) => setTimeout(r, 5));
    expect(await vault.set('a', 'secret', 'two')).toEqual({ created: false });
    const [after] = await vault.list();
    expect(after!.createdAt).toBe(before!.createdAt);
    expect(after!.updatedAt > before!.updatedAt).toBe(true);
    expect((await vault.get('a'))?.reveal()).toBe('two');
    expect(await vault.remove('a')).toBe(true);
    expect(await vault.remove('a')).toBe(false);
    expect(await vault.list()).toEqual([]);
  });

  it('stores nothing in clear text on disk', async () => {
    const vault = new LocalVault({ dataDir });
    await vault.set('a', 'api-key', 'plain-text-marker-xyz');
    const raw = await readFile(vault.path, 'utf8');
    expect(raw).not.toContain('plain-text-marker-xyz');
    expect(raw).not.toContain('"a"');
    expect(JSON.parse(raw)).toMatchObject({ version: 1, kdf: 'raw' });
  });

  it('creates the data dir 0700, the key file and the vault file 0600', async () => {
    const vault = new LocalVault({ dataDir });
    await vault.set('a', 'api-key', 'v');
    expect(await mode(dataDir)).toBe(0o700);
    expect(await mode(vault.keyPath)).toBe(0o600);
    expect(await mode(vault.path)).toBe(0o600);
    expect((await readFile(vault.keyPath, 'utf8')).trim()).toMatch(/^[0-9a-f]{64}$/);
    await vault.set('b', 'api-key', 'w'); // rewritten file keeps the mode
    expect(await mode(vault.path)).toBe(0o600);
  });

  it('uses BGAGENT_VAULT_KEY as hex or base64 and then creates no key file', async () => {
    const key = randomBytes(32);
    await new LocalVault({ dataDir, key: key.toString('hex') }).set('a', 'api-key', 'v1');
    expect((await new LocalVault({ dataDir, key: key.toString('base64') }).get('a'))?.reveal()).toBe('v1');
    await expect(stat(join(dataDir, 'vault.key'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('derives the key from a passphrase with scrypt', async () => {
    await new LocalVault({ dataDir, key: 'correct horse battery staple' }).set('a', 'api-key', 'v1');
    const file = JSON.parse(await readFile(join(dataDir, 'vault.enc.json'), 'utf8')) as { kdf: string; salt: string };
    expect(file.kdf).toBe('scrypt');
    expect(file.salt).toBeTruthy();
    expect((await new LocalVault({ dataDir, key: 'correct horse battery staple' }).get('a'))?.reveal()).toBe('v1');
    await expect(new LocalVault({ dataDir, key: 'wrong horse' }).get('a')).rejects.toThrow(/wrong key/);
  });

  it('refuses a wrong key with a clear VaultError', async () => {
    await new LocalVault({ dataDir, key: randomBytes(32).toString('hex') }).set('a', 'api-key', 'v1');
    const err = await new LocalVault({ dataDir, key: randomBytes(32).toString('hex') }).get('a').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(VaultError);
    expect((err as VaultError).message).toMatch(/^wrong key for the vault /);
    expect((err as VaultError).remedy).toMatch(/BGAGENT_VAULT_KEY/);
    // the key file is a different key too
    await expect(new LocalVault({ dataDir }).list()).rejects.toThrow(VaultError);
    // and writes are refused rather than overwriting the vault with another key
    await expect(new LocalVault({ dataDir, key: randomBytes(32).toString('hex') }).set('b', 'api-key', 'x')).rejects.toThrow(/wrong key/);
  });

  it('detects a tampered file instead of returning garbage', async () => {
    const vault = new LocalVault({ dataDir });
    await vault.set('a', 'api-key', 'v1');
    const file = JSON.parse(await readFile(vault.path, 'utf8')) as { ciphertext: string; tag: string };
    const ct = Buffer.from(file.ciphertext, 'base64');
    ct[ct.length >> 1]! ^= 0x01;
    await writeFile(vault.path, JSON.stringify({ ...file, ciphertext: ct.toString('base64') }));
    await expect(vault.get('a')).rejects.toThrow(/modified or is corrupted/);

    await writeFile(vault.path, '{not json');
    await expect(vault.get('a')).rejects.toThrow(/corrupted \(not a bgagent vault file\)/);
  });

  it('validates names and types and refuses empty values', async () => {
    const vault = new LocalVault({ dataDir });
    await expect(vault.set('bad name', 'api-key', 'v')).rejects.toThrow(VaultError);
    await expect(vault.set('ok', 'nonsense' as 'api-key', 'v')).rejects.toThrow(/invalid entry type/);
    await expect(vault.set('ok', 'api-key', '')).rejects.toThrow(/empty value/);
  });
});
