import type { FastifyInstance } from 'fastify';
import { ApiError } from '../tasks/errors.js';

export const NUL_MESSAGE = 'the request holds a NUL character (U+0000), which no field accepts';

/** PostgreSQL's character_not_in_repertoire: what it answers text holding U+0000. */
export const PG_NUL_REFUSED = '22021';

/**
 * PostgreSQL text cannot hold U+0000: a NUL in a path, query or body field reached the database as an
 * internal error (SQLite stored it). Refused up front, on both dialects alike. The path and query are
 * checked before the access check, which reads the database with them. A raw body (a signed webhook) is
 * not parsed here: when a field of one reaches PostgreSQL, the error handler answers PG_NUL_REFUSED the same.
 */
export function installNulCheck(app: FastifyInstance): void {
  app.addHook('onRequest', async (req) => {
    if (holdsNul(req.params) || holdsNul(req.query)) throw new ApiError('VALIDATION_ERROR', NUL_MESSAGE);
  });
  app.addHook('preValidation', async (req) => {
    if (holdsNul(req.body)) throw new ApiError('VALIDATION_ERROR', NUL_MESSAGE);
  });
}

/** Any string (key or value) with a NUL, however deeply nested; iterative, so deep bodies cannot overflow the stack. */
function holdsNul(value: unknown): boolean {
  const pending: unknown[] = [value];
  while (pending.length) {
    const v = pending.pop();
    if (typeof v === 'string') {
      if (v.includes('\u0000')) return true;
    } else if (v !== null && typeof v === 'object' && !Buffer.isBuffer(v)) {
      for (const [key, item] of Object.entries(v)) {
        if (key.includes('\u0000')) return true;
        pending.push(item);
      }
    }
  }
  return false;
}
