import { ApiError, toError } from '../tasks/errors.js';
import { LinearApiError } from './errors.js';

/** Connection failures, overload and lock conflicts of PostgreSQL (class 08 too) and SQLite. */
const DATABASE_CODES = ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', '57P01', '57P03', '53300', '40001', '40P01', 'SQLITE_BUSY', 'SQLITE_LOCKED'];
const LINEAR_CODES = ['TIMEOUT', 'NETWORK_ERROR', 'RATELIMITED'];

/**
 * A failure that means "try again later" — the database or Linear could not be reached or is overloaded —
 * rather than "this cannot work".
 */
export function isPassingFailure(err: unknown): boolean {
  if (err instanceof ApiError) return err.status === 503;
  if (err instanceof LinearApiError) return LINEAR_CODES.includes(err.code ?? '') || (err.status ?? 0) >= 500;
  const e = toError(err) as NodeJS.ErrnoException;
  const code = String(e.code);
  // node-postgres says so only in words when the server goes away mid-query or the pool can't connect.
  return DATABASE_CODES.includes(code) || code.startsWith('08') || /Connection terminated|timeout exceeded when trying to connect/i.test(e.message);
}
