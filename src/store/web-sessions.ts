import { createHash, randomBytes } from 'node:crypto';
import type { Db } from './connection.js';
import { userFromRow } from './rows.js';
import type { User } from '../tasks/task.js';

export const SESSION_LIFETIME_MS = 12 * 60 * 60 * 1000;
export const SESSION_IDLE_MS = 2 * 60 * 60 * 1000;
// Recording every request would make every page request a write; a minute is precise enough for a 2 h idle limit.
const TOUCH_AFTER_MS = 60_000;
const SESSION_ID = /^[A-Za-z0-9_-]{43}$/;
/** Sessions one token keeps (browsers signed in with it); signing in once more ends the oldest. */
export const MAX_SESSIONS_PER_TOKEN = 20;

function hashSessionId(id: string): string {
  return createHash('sha256').update(id).digest('hex');
}

/**
 * Web sign-ins. The cookie holds a random 32-byte id; the table holds only its SHA-256, the API token it
 * is bound to and its expiry (12 h after sign-in, or 2 h without a request). A session ends when it is
 * signed out, expires, its token is revoked or its user is gone. All state is in the database, so every
 * API process accepts every session.
 */
export class WebSessionStore {
  constructor(private readonly db: Db, private readonly now: () => number = Date.now) {}

  /**
   * A new session for this token; returns the clear id for the cookie (never stored). Sweeps expired ones, and
   * the token's oldest beyond MAX_SESSIONS_PER_TOKEN (anyone with the token can sign in any number of times).
   */
  async create(tokenId: string, userId: string): Promise<string> {
    await this.sweep();
    const id = randomBytes(32).toString('base64url');
    const hash = hashSessionId(id);
    const now = this.now();
    await this.db.kysely
      .insertInto('web_sessions')
      .values({ id: hash, token_id: tokenId, user_id: userId, created_at: now, last_seen_at: now, expires_at: now + SESSION_LIFETIME_MS })
      .execute();
    const newestOthers = this.db.kysely
      .selectFrom('web_sessions')
      .select('id')
      .where('token_id', '=', tokenId)
      .where('id', '!=', hash)
      .orderBy('created_at', 'desc')
      .orderBy('id')
      .limit(MAX_SESSIONS_PER_TOKEN - 1);
    await this.db.kysely.deleteFrom('web_sessions').where('token_id', '=', tokenId).where('id', '!=', hash).where('id', 'not in', newestOthers).execute();
    return id;
  }

  /** The user of a live session; counts as activity (the idle limit starts again, recorded at most once a minute). */
  async authenticate(id: string): Promise<User | undefined> {
    if (!SESSION_ID.test(id)) return undefined;
    const now = this.now();
    const row = await this.live(now)
      .selectAll('users')
      .select(['web_sessions.id as session_id', 'web_sessions.last_seen_at'])
      .where('web_sessions.id', '=', hashSessionId(id))
      .executeTakeFirst();
    if (!row) return undefined;
    if (now - row.last_seen_at > TOUCH_AFTER_MS) {
      await this.db.kysely.updateTable('web_sessions').set({ last_seen_at: now }).where('id', '=', row.session_id).execute();
    }
    return userFromRow(row);
  }

  /** Which of these (clear) session ids are still live; not counted as activity. */
  async activeIds(ids: readonly string[]): Promise<string[]> {
    const byHash = new Map(ids.filter((id) => SESSION_ID.test(id)).map((id) => [hashSessionId(id), id]));
    if (!byHash.size) return [];
    const rows = await this.live(this.now()).select('web_sessions.id').where('web_sessions.id', 'in', [...byHash.keys()]).execute();
    return rows.map((r) => byHash.get(r.id)!);
  }

  /** Sessions within both expiries whose token is not revoked and whose user is still there. */
  private live(now: number) {
    return this.db.kysely
      .selectFrom('web_sessions')
      .innerJoin('api_tokens', 'api_tokens.id', 'web_sessions.token_id')
      .innerJoin('users', 'users.id', 'web_sessions.user_id')
      .where('web_sessions.expires_at', '>', now)
      .where('web_sessions.last_seen_at', '>', now - SESSION_IDLE_MS)
      .where('api_tokens.revoked_at', 'is', null);
  }

  async delete(id: string): Promise<void> {
    if (!SESSION_ID.test(id)) return;
    await this.db.kysely.deleteFrom('web_sessions').where('id', '=', hashSessionId(id)).execute();
  }

  /** Deletes sessions past their absolute or idle expiry (they are refused anyway; this only keeps the table small). */
  async sweep(): Promise<number> {
    const now = this.now();
    const result = await this.db.kysely
      .deleteFrom('web_sessions')
      .where((eb) => eb.or([eb('expires_at', '<=', now), eb('last_seen_at', '<=', now - SESSION_IDLE_MS)]))
      .executeTakeFirst();
    return Number(result.numDeletedRows);
  }
}
