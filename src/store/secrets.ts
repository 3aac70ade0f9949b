import type { Kysely } from 'kysely';
import type { SealedSecretRows } from '../credentials/index.js';
import type { Database } from './schema.js';

/**
 * The `encrypted_secrets` table: sealed values by name (the store never sees a plain value). Built on the
 * database, or on a transaction that holds a lock.
 */
export class SecretStore implements SealedSecretRows {
  constructor(private readonly k: Kysely<Database>, private readonly now: () => number = Date.now) {}

  async get(name: string): Promise<string | undefined> {
    return (await this.k.selectFrom('encrypted_secrets').select('sealed').where('name', '=', name).executeTakeFirst())?.sealed;
  }

  async put(name: string, sealed: string): Promise<void> {
    const now = this.now();
    await this.k
      .insertInto('encrypted_secrets')
      .values({ name, sealed, created_at: now, updated_at: now })
      .onConflict((oc) => oc.column('name').doUpdateSet({ sealed, updated_at: now }))
      .execute();
  }

  async putIfAbsent(name: string, sealed: string): Promise<void> {
    const now = this.now();
    await this.k
      .insertInto('encrypted_secrets')
      .values({ name, sealed, created_at: now, updated_at: now })
      .onConflict((oc) => oc.column('name').doNothing())
      .execute();
  }

  async remove(name: string): Promise<boolean> {
    const r = await this.k.deleteFrom('encrypted_secrets').where('name', '=', name).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }
}
