import { createHash, randomBytes } from 'node:crypto';
import { ulid } from 'ulid';
import type { Db } from './connection.js';
import { userFromRow } from './rows.js';
import type { User } from '../tasks/task.js';

export interface ApiTokenInfo {
  id: string;
  userId: string;
  userName: string;
  name: string;
  prefix: string;
  createdAt: number;
  lastUsedAt: number | null;
  revokedAt: number | null;
}

const TOKEN_PREFIX = 'bga_';

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** Users and their API tokens. Tokens are stored as SHA-256 hashes; the clear token is shown once. */
export class UserStore {
  constructor(private readonly db: Db, private readonly now: () => number = Date.now) {}

  async getByName(name: string): Promise<User | undefined> {
    const row = await this.db.kysely.selectFrom('users').selectAll().where('name', '=', name).executeTakeFirst();
    return row && userFromRow(row);
  }

  async getById(id: string): Promise<User | undefined> {
    const row = await this.db.kysely.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
    return row && userFromRow(row);
  }

  async list(): Promise<User[]> {
    return (await this.db.kysely.selectFrom('users').selectAll().orderBy('name').execute()).map(userFromRow);
  }

  async count(): Promise<number> {
    const row = await this.db.kysely.selectFrom('users').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    return Number(row.n);
  }

  /** Returns the user with this name, creating it if needed (a concurrent creator wins harmlessly). */
  async ensure(name: string, opts: { isAdmin?: boolean } = {}): Promise<User> {
    await this.db.kysely
      .insertInto('users')
      .values({ id: ulid(), name, is_admin: opts.isAdmin ? 1 : 0, max_concurrent: null, created_at: this.now() })
      .onConflict((oc) => oc.column('name').doNothing())
      .execute();
    return (await this.getByName(name))!;
  }

  async setMaxConcurrent(userId: string, max: number | null): Promise<void> {
    await this.db.kysely.updateTable('users').set({ max_concurrent: max }).where('id', '=', userId).execute();
  }

  async createToken(userId: string, name: string): Promise<{ token: string; info: ApiTokenInfo }> {
    const token = TOKEN_PREFIX + randomBytes(24).toString('base64url');
    const id = ulid();
    await this.db.kysely
      .insertInto('api_tokens')
      .values({
        id,
        user_id: userId,
        name,
        token_hash: hashToken(token),
        prefix: token.slice(0, TOKEN_PREFIX.length + 6),
        created_at: this.now(),
        last_used_at: null,
        revoked_at: null,
      })
      .execute();
    const info = (await this.listTokens()).find((t) => t.id === id)!;
    return { token, info };
  }

  /** The user a clear token belongs to, if the token exists and is not revoked. */
  async authenticate(token: string): Promise<User | undefined> {
    return (await this.authenticateToken(token))?.user;
  }

  /** Like authenticate, with the token's id (a web session is bound to it; a stream re-checks it). */
  async authenticateToken(token: string): Promise<{ user: User; tokenId: string } | undefined> {
    const row = await this.db.kysely
      .selectFrom('api_tokens')
      .innerJoin('users', 'users.id', 'api_tokens.user_id')
      .selectAll('users')
      .select(['api_tokens.id as token_id', 'api_tokens.last_used_at'])
      .where('api_tokens.token_hash', '=', hashToken(token))
      .where('api_tokens.revoked_at', 'is', null)
      .executeTakeFirst();
    if (!row) return undefined;
    // Recording every use would make every request a write; once a minute is precise enough.
    const now = this.now();
    if (row.last_used_at === null || now - row.last_used_at > 60_000) {
      await this.db.kysely.updateTable('api_tokens').set({ last_used_at: now }).where('id', '=', row.token_id).execute();
    }
    return { user: userFromRow(row), tokenId: row.token_id };
  }

  /** Which of these tokens are still usable (not revoked, their user still there), without counting it as a use. */
  async activeTokenIds(tokenIds: readonly string[]): Promise<string[]> {
    if (!tokenIds.length) return [];
    const rows = await this.db.kysely
      .selectFrom('api_tokens')
      .innerJoin('users', 'users.id', 'api_tokens.user_id')
      .select('api_tokens.id')
      .where('api_tokens.id', 'in', [...tokenIds])
      .where('api_tokens.revoked_at', 'is', null)
      .execute();
    return rows.map((r) => r.id);
  }

  async listTokens(): Promise<ApiTokenInfo[]> {
    const rows = await this.db.kysely
      .selectFrom('api_tokens')
      .innerJoin('users', 'users.id', 'api_tokens.user_id')
      .select([
        'api_tokens.id',
        'api_tokens.user_id',
        'users.name as user_name',
        'api_tokens.name',
        'api_tokens.prefix',
        'api_tokens.created_at',
        'api_tokens.last_used_at',
        'api_tokens.revoked_at',
      ])
      .orderBy('api_tokens.created_at')
      .execute();
    return rows.map((r) => ({
      id: r.id,
      userId: r.user_id,
      userName: r.user_name,
      name: r.name,
      prefix: r.prefix,
      createdAt: r.created_at,
      lastUsedAt: r.last_used_at,
      revokedAt: r.revoked_at,
    }));
  }

  async revokeToken(id: string): Promise<boolean> {
    const result = await this.db.kysely
      .updateTable('api_tokens')
      .set({ revoked_at: this.now() })
      .where('id', '=', id)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    // The sessions would be refused anyway (they join the token); deleting them ends them visibly.
    await this.db.kysely.deleteFrom('web_sessions').where('token_id', '=', id).execute();
    return Number(result.numUpdatedRows) === 1;
  }
}
