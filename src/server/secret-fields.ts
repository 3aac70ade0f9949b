import { CredentialError, literalValueOf } from '../credentials/index.js';
import { ApiError } from '../tasks/errors.js';

/**
 * The secret itself when a request's `field` holds a value where a credential reference belongs (setup routes
 * keep it encrypted in the database); undefined for a reference; a malformed reference is a 400.
 */
export function literalOf(raw: string | undefined, field: string): string | undefined {
  if (raw === undefined) return undefined;
  try {
    return literalValueOf(raw);
  } catch (err) {
    if (err instanceof CredentialError) throw new ApiError('VALIDATION_ERROR', `${field}: ${err.message}${err.remedy ? ` (${err.remedy})` : ''}`);
    throw err;
  }
}
