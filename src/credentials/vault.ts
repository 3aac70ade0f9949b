import { createCipheriv, createDecipheriv, createHmac, randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { chmod, link, mkdir, open, readFile, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { withFileLock } from './file-lock.js';
import { VAULT_NAME } from './reference.js';
import { Secret } from './secret.js';

export const VAULT_ENTRY_TYPES = ['api-key', 'oauth-token', 'github-token', 'webhook-secret', 'private-key', 'secret'] as const;
export type VaultEntryType = (typeof VAULT_ENTRY_TYPES)[number];

/** What `list` shows: never the value. */
export interface VaultEntryInfo {
  name: string;
  type: VaultEntryType;
  createdAt: string;
  updatedAt: string;
}

interface StoredEntry {
  type: VaultEntryType;
  value: string;
  createdAt: string;
  updatedAt: string;
}

interface VaultContents {
  entries: Record<string, StoredEntry>;
}

/** The file on disk. The header fields are authenticated as AAD. */
interface VaultFile {
  version: 1;
  kdf: 'raw' | 'scrypt';
  salt?: string;
  keyCheck: string;
  iv: string;
  tag: string;
  ciphertext: string;
}

export class VaultError extends Error {
  override name = 'VaultError';
  constructor(
    message: string,
    readonly remedy?: string,
  ) {
    super(message);
  }
}

export interface LocalVaultOptions {
  dataDir: string;
  /**
   * BGAGENT_VAULT_KEY. 64 hex characters or base64 of 32 bytes is used as the AES-256 key directly;
   * anything else is a passphrase, stretched with scrypt (N=2^15, r=8, p=1) and a random salt kept in the
   * vault file. Without it, a random key is kept in `<dataDir>/vault.key` (0600), created on first use.
   * A function is called once, on first use (the resolver passes one that resolves a credential reference).
   */
  key?: string | (() => Promise<string>);
}

/** What the vault's key is: a 32-byte key to use as is, or a passphrase to stretch with a salt. */
export type VaultKeyMaterial = { kind: 'raw'; key: Buffer } | { kind: 'passphrase'; passphrase: string };

const SCRYPT = { N: 2 ** 15, r: 8, p: 1, maxmem: 64 * 1024 * 1024 };

function rawKeyFrom(option: string): Buffer | undefined {
  const s = option.trim();
  if (/^[0-9a-fA-F]{64}$/.test(s)) return Buffer.from(s, 'hex');
  if (/^[A-Za-z0-9+/]{43}=?$/.test(s) || /^[A-Za-z0-9_-]{43}$/.test(s)) {
    const b = Buffer.from(s, s.includes('-') || s.includes('_') ? 'base64url' : 'base64');
    if (b.length === 32) return b;
  }
  return undefined;
}

function keyCheckOf(key: Buffer): string {
  return createHmac('sha256', key).update('bgagent vault key check').digest('base64').slice(0, 22);
}

function headerAad(f: Pick<VaultFile, 'version' | 'kdf' | 'salt' | 'keyCheck'>): Buffer {
  return Buffer.from(JSON.stringify([f.version, f.kdf, f.salt ?? '', f.keyCheck]));
}

async function writeFileAtomic(path: string, data: string): Promise<void> {
  const tmp = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  const handle = await open(tmp, 'wx', 0o600);
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
}

/** bgagent's embedded secret store: one AES-256-GCM encrypted file in the data dir. */
export class LocalVault {
  readonly path: string;
  readonly keyPath: string;
  private readonly lockPath: string;
  private readonly dataDir: string;
  private readonly keySource: LocalVaultOptions['key'];
  private keyOptionValue: Promise<string | undefined> | undefined;
  private fileKey: Promise<Buffer> | undefined;
  private readonly derived = new Map<string, Promise<Buffer>>();

  constructor(opts: LocalVaultOptions) {
    this.dataDir = opts.dataDir;
    this.keySource = opts.key;
    this.path = join(opts.dataDir, 'vault.enc.json');
    this.keyPath = join(opts.dataDir, 'vault.key');
    this.lockPath = join(opts.dataDir, 'vault.lock');
  }

  /** The key this vault encrypts with (BGAGENT_VAULT_KEY, else the key file): also the key of the secrets kept in the database. */
  async keyMaterial(): Promise<VaultKeyMaterial> {
    const option = await this.keyOption();
    if (option === undefined) return { kind: 'raw', key: await this.keyFromFile() };
    const raw = rawKeyFrom(option);
    return raw ? { kind: 'raw', key: raw } : { kind: 'passphrase', passphrase: option };
  }

  private keyOption(): Promise<string | undefined> {
    const source = this.keySource;
    this.keyOptionValue ??= (typeof source === 'function' ? source() : Promise.resolve(source)).catch((err: unknown) => {
      this.keyOptionValue = undefined;
      throw err;
    });
    return this.keyOptionValue;
  }

  async get(name: string): Promise<Secret | undefined> {
    const entry = (await this.read()).entries[name];
    return entry ? new Secret(entry.value) : undefined;
  }

  async list(): Promise<VaultEntryInfo[]> {
    const { entries } = await this.read();
    return Object.entries(entries)
      .map(([name, e]) => ({ name, type: e.type, createdAt: e.createdAt, updatedAt: e.updatedAt }))
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  /** Adds or replaces an entry. Returns whether it was new. */
  async set(name: string, type: VaultEntryType, value: string | Secret): Promise<{ created: boolean }> {
    if (!VAULT_NAME.test(name)) throw new VaultError(`invalid entry name "${name}"`, 'use letters, digits, ".", "_" and "-" (max 128)');
    if (!VAULT_ENTRY_TYPES.includes(type)) throw new VaultError(`invalid entry type "${type}"`, `use one of: ${VAULT_ENTRY_TYPES.join(', ')}`);
    const plain = typeof value === 'string' ? value : value.reveal();
    if (plain.length === 0) throw new VaultError(`refusing to store an empty value for "${name}"`);
    return this.update((c) => {
      const now = new Date().toISOString();
      const prev = c.entries[name];
      c.entries[name] = { type, value: plain, createdAt: prev?.createdAt ?? now, updatedAt: now };
      return { created: prev === undefined };
    });
  }

  /** Removes an entry. Returns whether it existed. */
  async remove(name: string): Promise<boolean> {
    return this.update((c) => {
      if (!(name in c.entries)) return false;
      delete c.entries[name];
      return true;
    });
  }

  private async update<T>(change: (c: VaultContents) => T): Promise<T> {
    await this.ensureDataDir();
    return withFileLock(this.lockPath, async () => {
      const existing = await this.readFile();
      const contents = existing ? await this.decrypt(existing) : { entries: {} };
      const result = change(contents);
      await writeFileAtomic(this.path, JSON.stringify(await this.encrypt(contents, existing)));
      return result;
    });
  }

  private async read(): Promise<VaultContents> {
    const file = await this.readFile();
    return file ? this.decrypt(file) : { entries: {} };
  }

  private async readFile(): Promise<VaultFile | undefined> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    try {
      const f = JSON.parse(text) as VaultFile;
      if (f.version !== 1 || (f.kdf !== 'raw' && f.kdf !== 'scrypt') || typeof f.ciphertext !== 'string' || typeof f.keyCheck !== 'string') {
        throw new Error('unexpected format');
      }
      return f;
    } catch {
      throw new VaultError(`the vault file ${this.path} is corrupted (not a bgagent vault file)`, 'restore it from a backup, or move it away to start an empty vault');
    }
  }

  private async ensureDataDir(): Promise<void> {
    await mkdir(this.dataDir, { recursive: true, mode: 0o700 });
  }

  private async keyFor(kdf: VaultFile['kdf'], salt: string | undefined): Promise<Buffer> {
    const option = await this.keyOption();
    if (kdf === 'scrypt') {
      if (!option || rawKeyFrom(option)) {
        throw new VaultError(`the vault ${this.path} was written with a passphrase`, 'set BGAGENT_VAULT_KEY to that passphrase');
      }
      return this.derive(option, salt ?? '');
    }
    if (option) {
      const raw = rawKeyFrom(option);
      if (!raw) throw new VaultError(`the vault ${this.path} was written with a 32-byte key, but BGAGENT_VAULT_KEY is a passphrase`, 'set BGAGENT_VAULT_KEY to that key (64 hex characters or base64)');
      return raw;
    }
    return this.keyFromFile();
  }

  private derive(passphrase: string, salt: string): Promise<Buffer> {
    let p = this.derived.get(salt);
    if (!p) {
      p = new Promise<Buffer>((resolve, reject) =>
        scrypt(passphrase, Buffer.from(salt, 'base64'), 32, SCRYPT, (err, key) => (err ? reject(err) : resolve(key))),
      );
      this.derived.set(salt, p);
    }
    return p;
  }

  private keyFromFile(): Promise<Buffer> {
    this.fileKey ??= this.loadOrCreateKeyFile().catch((err: unknown) => {
      this.fileKey = undefined;
      throw err;
    });
    return this.fileKey;
  }

  /** Creates the key file with link() so a concurrent creator never sees a half-written key. */
  private async loadOrCreateKeyFile(): Promise<Buffer> {
    try {
      return this.parseKeyFile(await readFile(this.keyPath, 'utf8'));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    await this.ensureDataDir();
    const tmp = `${this.keyPath}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
    await writeFileAtomicNoRename(tmp, `${randomBytes(32).toString('hex')}\n`);
    try {
      await link(tmp, this.keyPath);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    } finally {
      await unlink(tmp).catch(() => undefined);
    }
    return this.parseKeyFile(await readFile(this.keyPath, 'utf8'));
  }

  private parseKeyFile(text: string): Buffer {
    const key = rawKeyFrom(text);
    if (!key) throw new VaultError(`the vault key file ${this.keyPath} is corrupted`, 'restore it from a backup; without it the vault cannot be read');
    return key;
  }

  private async encrypt(contents: VaultContents, previous: VaultFile | undefined): Promise<VaultFile> {
    const option = await this.keyOption();
    const passphrase = option !== undefined && !rawKeyFrom(option);
    const kdf: VaultFile['kdf'] = passphrase ? 'scrypt' : 'raw';
    const salt = kdf === 'scrypt' ? (previous?.kdf === 'scrypt' && previous.salt ? previous.salt : randomBytes(16).toString('base64')) : undefined;
    const key = await this.keyFor(kdf, salt);
    const header = { version: 1 as const, kdf, ...(salt ? { salt } : {}), keyCheck: keyCheckOf(key) };
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', key, iv);
    cipher.setAAD(headerAad(header));
    const ciphertext = Buffer.concat([cipher.update(JSON.stringify(contents), 'utf8'), cipher.final()]);
    return { ...header, iv: iv.toString('base64'), tag: cipher.getAuthTag().toString('base64'), ciphertext: ciphertext.toString('base64') };
  }

  private async decrypt(f: VaultFile): Promise<VaultContents> {
    const key = await this.keyFor(f.kdf, f.salt);
    const check = Buffer.from(keyCheckOf(key));
    const stored = Buffer.from(f.keyCheck);
    if (check.length !== stored.length || !timingSafeEqual(check, stored)) {
      throw new VaultError(
        `wrong key for the vault ${this.path}`,
        (await this.keyOption()) !== undefined ? 'BGAGENT_VAULT_KEY does not match the key the vault was written with' : `${this.keyPath} does not match the key the vault was written with: set BGAGENT_VAULT_KEY or restore the key file`,
      );
    }
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(f.iv, 'base64'));
      decipher.setAAD(headerAad(f));
      decipher.setAuthTag(Buffer.from(f.tag, 'base64'));
      const plain = Buffer.concat([decipher.update(Buffer.from(f.ciphertext, 'base64')), decipher.final()]);
      const contents = JSON.parse(plain.toString('utf8')) as VaultContents;
      if (typeof contents.entries !== 'object' || contents.entries === null) throw new Error('no entries');
      return contents;
    } catch {
      throw new VaultError(`the vault file ${this.path} was modified or is corrupted (authentication failed)`, 'restore it from a backup, or move it away to start an empty vault');
    }
  }
}

async function writeFileAtomicNoRename(path: string, data: string): Promise<void> {
  const handle = await open(path, 'wx', 0o600);
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await chmod(path, 0o600);
}
