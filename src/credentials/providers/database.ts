import { DatabaseSecretError, type DatabaseSecrets } from '../database-secrets.js';
import { CredentialError } from '../errors.js';
import type { CredentialReference } from '../reference.js';
import { VaultError } from '../vault.js';
import type { CredentialProvider } from './provider.js';

/** `db:NAME`: a secret kept encrypted in bgagent's database. */
export class DatabaseCredentialProvider implements CredentialProvider {
  constructor(private readonly secrets: DatabaseSecrets | undefined) {}

  async fetch(ref: CredentialReference): Promise<string> {
    if (ref.kind !== 'db') throw new Error(`database provider cannot fetch ${ref.kind}`);
    if (!this.secrets) throw new CredentialError('unavailable', ref.display, "db: references are read from bgagent's database, which this command has no connection to", "run it where BGAGENT_DATABASE_URL (or the data dir's SQLite database) is reachable");
    let secret;
    try {
      secret = await this.secrets.get(ref.name);
    } catch (err) {
      // Another key, a changed value, or a corrupted key file.
      if (err instanceof DatabaseSecretError || err instanceof VaultError) throw new CredentialError('persistent', ref.display, err.message, err.remedy, err.name);
      // BGAGENT_VAULT_KEY is a reference that did not resolve.
      if (err instanceof CredentialError) throw new CredentialError(err.kind, ref.display, `the key (BGAGENT_VAULT_KEY) cannot be resolved: ${err.message}`, err.remedy, err.code);
      throw new CredentialError('transient', ref.display, `the database could not be read (${(err as Error).message})`);
    }
    if (!secret) throw new CredentialError('persistent', ref.display, `no secret "${ref.name}" in the database`, 'set it up again (e.g. `bgagent linear setup`), which stores it');
    return secret.reveal();
  }
}
