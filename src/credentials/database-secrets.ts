import { VAULT_NAME } from './reference.js';
import { SecretDecryptionError, type SecretSealer } from './sealed.js';
import { Secret } from './secret.js';

/** Where sealed secrets are kept: the database's `encrypted_secrets` table (the store implements this). */
export interface SealedSecretRows {
  get(name: string): Promise<string | undefined>;
  put(name: string, sealed: string): Promise<void>;
  /** Stores the value unless the name is taken (first writer wins). */
  putIfAbsent(name: string, sealed: string): Promise<void>;
  remove(name: string): Promise<boolean>;
}

/**
 * A row sealed with the key of the first process that wrote a secret: a process with another key cannot open
 * it, and so writes nothing only it could read. Not a valid secret name, so no `db:` reference reaches it.
 */
const KEY_CHECK = '.key-check';
const KEY_CHECK_VALUE = 'bgagent database secrets key check v1';

export class DatabaseSecretError extends Error {
  override name = 'DatabaseSecretError';
  constructor(
    message: string,
    readonly remedy?: string,
  ) {
    super(message);
  }
}

/**
 * Secrets bgagent keeps in its database, encrypted (see SecretSealer), named by `db:NAME` references: every
 * process on the same database reads the same value, which a file vault on one machine cannot offer. The
 * row's name is the associated data, so a sealed value only opens under its own name.
 */
export class DatabaseSecrets {
  private keyChecked: Promise<void> | undefined;

  constructor(
    private readonly rows: SealedSecretRows,
    private readonly sealer: SecretSealer,
  ) {}

  /**
   * Throws DatabaseSecretError when this process's key is not the one the database's secrets are sealed with
   * (the first process to write one records its key). Checked once per process before the first write; `rows`
   * for a write inside a transaction (serve checks at start, outside any, so that one is settled by then).
   */
  verifyKey(rows: SealedSecretRows = this.rows): Promise<void> {
    this.keyChecked ??= this.checkKey(rows).catch((err: unknown) => {
      this.keyChecked = undefined;
      throw err;
    });
    return this.keyChecked;
  }

  private async checkKey(rows: SealedSecretRows): Promise<void> {
    let sealed = await rows.get(KEY_CHECK);
    if (sealed === undefined) {
      await rows.putIfAbsent(KEY_CHECK, await this.sealer.seal(KEY_CHECK_VALUE, contextOf(KEY_CHECK)));
      sealed = (await rows.get(KEY_CHECK))!;
    }
    try {
      if ((await this.sealer.open(sealed, contextOf(KEY_CHECK))) === KEY_CHECK_VALUE) return;
    } catch (err) {
      if (!(err instanceof SecretDecryptionError)) throw err;
    }
    throw new DatabaseSecretError(
      "this process's key (BGAGENT_VAULT_KEY, or without it the data dir's vault.key) is not the key the database's secrets are sealed with, so it stores none there (the other processes could not read them)",
      'give every process on this database the same BGAGENT_VAULT_KEY (the one the first process used; without it, that data dir\'s vault.key)',
    );
  }

  /** `rows` lets a caller read inside its own transaction (e.g. under a row lock). */
  async get(name: string, rows: SealedSecretRows = this.rows): Promise<Secret | undefined> {
    const sealed = await rows.get(name);
    if (sealed === undefined) return undefined;
    try {
      return new Secret(await this.sealer.open(sealed, contextOf(name)));
    } catch (err) {
      if (err instanceof SecretDecryptionError) throw new DatabaseSecretError(err.message, err.remedy);
      throw err;
    }
  }

  async set(name: string, value: string | Secret, rows: SealedSecretRows = this.rows): Promise<void> {
    if (!VAULT_NAME.test(name)) throw new DatabaseSecretError(`invalid secret name "${name}"`, 'use letters, digits, ".", "_" and "-" (max 128)');
    const plain = typeof value === 'string' ? value : value.reveal();
    if (plain.length === 0) throw new DatabaseSecretError(`refusing to store an empty value for "${name}"`);
    await this.verifyKey(rows);
    await rows.put(name, await this.sealer.seal(plain, contextOf(name)));
  }

  remove(name: string, rows: SealedSecretRows = this.rows): Promise<boolean> {
    return rows.remove(name);
  }
}

/** The reference that names a database secret. */
export function databaseSecretRef(name: string): string {
  return `db:${name}`;
}

const contextOf = (name: string) => `db secret "${name}"`;
