import { sql, type Kysely, type Selectable } from 'kysely';
import type { Db } from './connection.js';
import type { Database, LinearOAuthInstallsTable } from './schema.js';
import type { LinearWorkspace } from './linear.js';
import type { SealedSecretRows } from '../credentials/index.js';
import { SecretStore } from './secrets.js';

export type LinearOAuthInstall = Selectable<LinearOAuthInstallsTable>;

/** What a caller holding a workspace's token lock may do before the lock is released. */
export interface LockedWorkspace {
  /** The row as read after the lock was taken; undefined when the workspace is gone. */
  workspace: LinearWorkspace | undefined;
  /** The encrypted secrets, read and written inside the lock's transaction (the token pair lives there). */
  secrets: SealedSecretRows;
  recordRefresh(tokenExpiresAt: number): Promise<void>;
  /** Points the workspace's api_key_ref at another reference (its tokens moved). */
  setTokenRef(ref: string): Promise<void>;
  setStatus(status: 'reinstall_required' | 'revoked', reason: string): Promise<void>;
}

/** Outcome of claiming an install by its state: only a pending, unexpired one can be claimed, once. */
export type InstallClaim = { ok: true; install: LinearOAuthInstall } | { ok: false; reason: 'unknown' | 'expired' | 'used' };

/** The OAuth side of Linear's registry: install attempts (state + PKCE verifier) and OAuth workspaces. */
export class LinearOAuthStore {
  constructor(private readonly db: Db, private readonly now: () => number = Date.now) {}

  private get k() {
    return this.db.kysely;
  }

  async createInstall(i: { id: string; stateHash: string; codeVerifier: string; redirectUri: string; ttlMs: number }): Promise<LinearOAuthInstall> {
    const now = this.now();
    const row = { id: i.id, state_hash: i.stateHash, code_verifier: i.codeVerifier, redirect_uri: i.redirectUri, status: 'pending', workspace_id: null, error: null, created_at: now, expires_at: now + i.ttlMs, finished_at: null };
    await this.k.insertInto('linear_oauth_installs').values(row).execute();
    return row;
  }

  async getInstall(id: string): Promise<LinearOAuthInstall | undefined> {
    return this.k.selectFrom('linear_oauth_installs').selectAll().where('id', '=', id).executeTakeFirst();
  }

  /** Moves a pending install to 'exchanging' atomically, so a state is honoured once even if the callback is replayed. */
  async claimInstall(stateHash: string): Promise<InstallClaim> {
    const install = await this.k.selectFrom('linear_oauth_installs').selectAll().where('state_hash', '=', stateHash).executeTakeFirst();
    if (!install) return { ok: false, reason: 'unknown' };
    if (install.status !== 'pending') return { ok: false, reason: 'used' };
    if (install.expires_at <= this.now()) return { ok: false, reason: 'expired' };
    const r = await this.k.updateTable('linear_oauth_installs').set({ status: 'exchanging' }).where('id', '=', install.id).where('status', '=', 'pending').executeTakeFirst();
    if (Number(r.numUpdatedRows) !== 1) return { ok: false, reason: 'used' };
    return { ok: true, install: { ...install, status: 'exchanging' } };
  }

  async finishInstall(id: string, outcome: { workspaceId: string } | { error: string }): Promise<void> {
    await this.k
      .updateTable('linear_oauth_installs')
      .set('workspaceId' in outcome ? { status: 'completed', workspace_id: outcome.workspaceId, finished_at: this.now() } : { status: 'failed', error: outcome.error, finished_at: this.now() })
      .where('id', '=', id)
      .execute();
  }

  /** Records a workspace as installed through OAuth (new, or switched from an API key, or reinstalled after a revocation). */
  async recordOAuthWorkspace(w: { id: string; urlKey: string; name: string; tokenRef: string; appUserId: string; scopes: string; tokenExpiresAt: number }): Promise<void> {
    const now = this.now();
    const values = {
      url_key: w.urlKey,
      name: w.name,
      api_key_ref: w.tokenRef,
      viewer_id: w.appUserId,
      app_user_id: w.appUserId,
      auth_kind: 'oauth',
      oauth_scopes: w.scopes,
      token_expires_at: w.tokenExpiresAt,
      status: 'active',
      status_reason: null,
      updated_at: now,
    };
    await this.k
      .insertInto('linear_workspaces')
      .values({ id: w.id, signing_secret_ref: null, created_at: now, ...values })
      .onConflict((oc) => oc.column('id').doUpdateSet(values))
      .execute();
  }

  /**
   * Runs `fn` holding the workspace's token lock: a row lock (SELECT … FOR UPDATE) on PostgreSQL, the
   * database's write lock on SQLite (BEGIN IMMEDIATE). Another process refreshing the same workspace waits here,
   * then sees the tokens the first one stored.
   */
  async withTokenLock<T>(workspaceId: string, fn: (locked: LockedWorkspace) => Promise<T>): Promise<T> {
    const locked = async (db: Kysely<Database>, workspace: LinearWorkspace | undefined) =>
      fn({
        workspace,
        secrets: new SecretStore(db, this.now),
        setTokenRef: async (ref) => {
          await db.updateTable('linear_workspaces').set({ api_key_ref: ref, updated_at: this.now() }).where('id', '=', workspaceId).execute();
        },
        recordRefresh: async (tokenExpiresAt) => {
          await db.updateTable('linear_workspaces').set({ token_expires_at: tokenExpiresAt, updated_at: this.now() }).where('id', '=', workspaceId).execute();
        },
        setStatus: async (status, reason) => {
          await this.setStatus(db, workspaceId, status, reason);
        },
      });
    if (this.db.dialect === 'postgres') {
      return this.k.transaction().execute(async (trx) =>
        locked(trx, await trx.selectFrom('linear_workspaces').selectAll().where('id', '=', workspaceId).forUpdate().executeTakeFirst()),
      );
    }
    // BEGIN IMMEDIATE takes the write lock up front (waiting up to busy_timeout); a deferred transaction
    // upgrading to a write in WAL mode can fail at once with SQLITE_BUSY instead of waiting.
    return this.k.connection().execute(async (conn) => {
      await sql`begin immediate`.execute(conn);
      try {
        const result = await locked(conn, await conn.selectFrom('linear_workspaces').selectAll().where('id', '=', workspaceId).executeTakeFirst());
        await sql`commit`.execute(conn);
        return result;
      } catch (err) {
        await sql`rollback`.execute(conn).catch(() => undefined);
        throw err;
      }
    });
  }

  /** Marks the workspace revoked (or needing a reinstall) outside any lock. */
  async markWorkspace(workspaceId: string, status: 'reinstall_required' | 'revoked', reason: string): Promise<boolean> {
    return this.setStatus(this.k, workspaceId, status, reason).then((n) => n > 0);
  }

  private async setStatus(db: Kysely<Database>, workspaceId: string, status: string, reason: string): Promise<number> {
    const r = await db
      .updateTable('linear_workspaces')
      .set({ status, status_reason: reason, token_expires_at: null, updated_at: this.now() })
      .where('id', '=', workspaceId)
      .executeTakeFirst();
    return Number(r.numUpdatedRows);
  }
}
