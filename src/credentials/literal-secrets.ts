import { databaseSecretRef, type DatabaseSecrets } from './database-secrets.js';
import { parseCredentialReference } from './reference.js';

/**
 * The secret itself when `raw` is a value where a credential reference belongs (it has none of the known
 * schemes); undefined for a reference. Throws CredentialError for a malformed reference.
 */
export function literalValueOf(raw: string): string | undefined {
  const ref = parseCredentialReference(raw);
  return ref.kind === 'literal' ? ref.value : undefined;
}

/** Whether a stored reference is a literal secret (a malformed reference is no value: doctor reports it). */
export function isLiteralSecret(raw: string): boolean {
  try {
    return literalValueOf(raw) !== undefined;
  } catch {
    return false;
  }
}

/**
 * Keeps a secret given as a value encrypted in the database under `name` and returns the db: reference that
 * names it, which is what a row stores; the resolver forgets any value it cached for that reference.
 */
export async function keepInDatabase(secrets: DatabaseSecrets, name: string, value: string, resolver?: { invalidate(ref: string): void }): Promise<string> {
  await secrets.set(name, value);
  const ref = databaseSecretRef(name);
  resolver?.invalidate(ref);
  return ref;
}

/**
 * At start: moves a literal secret a stored row still holds into the database under `name` (a name setup never
 * writes, so a setup running meanwhile keeps its new value). `swap` puts the reference in the row only if the
 * row still holds the literal (a conditional update) and says whether it did; returns the reference then.
 */
export async function moveLiteralIntoDatabase(secrets: DatabaseSecrets, name: string, value: string, swap: (ref: string) => Promise<boolean>): Promise<string | undefined> {
  const ref = await keepInDatabase(secrets, name, value);
  return (await swap(ref)) ? ref : undefined;
}
