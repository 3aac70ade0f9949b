import { VAULT_NAME } from './reference.js';
import { SecretDecryptionError, type SecretSealer } from './sealed.js';
import { Secret } from './secret.js';

/** Where sealed secrets are kept: the database's `encrypted_secrets` table (the store implements this). */
export interface SealedSecretRows {
  get(name: string): Promise<string | undefined>;
  put(name: string, sealed: string): Promise<void>;
  remove(name: string): Promise<boolean>;
}

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
  constructor(
    private readonly rows: SealedSecretRows,
    private readonly sealer: SecretSealer,
  ) {}

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
