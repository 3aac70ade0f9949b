import { sql, type Selectable } from 'kysely';
import type { Db } from './connection.js';
import type { LinearDeliveriesTable, LinearProjectsTable, LinearUserLinksTable, LinearWorkspacesTable } from './schema.js';

export type LinearWorkspace = Selectable<LinearWorkspacesTable>;
export type LinearProject = Selectable<LinearProjectsTable>;
export type LinearUserLink = Selectable<LinearUserLinksTable>;
export type LinearDelivery = Selectable<LinearDeliveriesTable>;

export interface NewDelivery {
  id: string;
  dedupeKey: string;
  workspaceId: string | null;
  type: string;
  action: string;
  payload: string;
  /** What it stays in order with (see `claimDeliveries`); null: nothing. */
  orderingKey: string | null;
  /** Linear's webhookTimestamp. */
  webhookTimestamp: number;
}

/**
 * True when an unfinished delivery of the same ordering key goes before `row`: one being processed (also
 * with its lease run out: it is taken over first), or, for a waiting `row`, one waiting that Linear sent
 * earlier. A delivery being processed is never behind a waiting one (an earlier event Linear retried late
 * waits for it), so two deliveries can never hold each other back.
 */
const behindAnother = (row: string) => sql<boolean>`exists (
  select 1 from linear_deliveries o
  where o.ordering_key = ${sql.ref(`${row}.ordering_key`)} and o.id <> ${sql.ref(`${row}.id`)}
    and (o.status = 'processing'
      or (o.status = 'pending' and ${sql.ref(`${row}.status`)} = 'pending' and (o.webhook_timestamp, o.id) < (${sql.ref(`${row}.webhook_timestamp`)}, ${sql.ref(`${row}.id`)})))
)`;

/** Linear's registry (workspaces, project → repo mappings, user links) and the durable webhook deliveries. */
export class LinearStore {
  constructor(private readonly db: Db, private readonly now: () => number = Date.now) {}

  private get k() {
    return this.db.kysely;
  }

  async upsertWorkspace(w: { id: string; urlKey: string; name: string; apiKeyRef: string; signingSecretRef: string | null; viewerId: string | null }): Promise<LinearWorkspace> {
    const now = this.now();
    // An API-key setup replaces an OAuth install of the same workspace (and clears its app state).
    const values = { url_key: w.urlKey, name: w.name, api_key_ref: w.apiKeyRef, signing_secret_ref: w.signingSecretRef, viewer_id: w.viewerId, status: 'active', updated_at: now, auth_kind: 'api_key', app_user_id: null, oauth_scopes: null, token_expires_at: null, status_reason: null };
    await this.k
      .insertInto('linear_workspaces')
      .values({ id: w.id, created_at: now, ...values })
      .onConflict((oc) => oc.column('id').doUpdateSet(values))
      .execute();
    return (await this.getWorkspace(w.id))!;
  }

  /** Replaces a workspace's API key or signing secret reference, unless it changed since `from` was read. */
  async replaceSecretRef(id: string, column: 'api_key_ref' | 'signing_secret_ref', from: string, to: string): Promise<boolean> {
    const r = await this.k.updateTable('linear_workspaces').set({ [column]: to, updated_at: this.now() }).where('id', '=', id).where(column, '=', from).executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  async getWorkspace(id: string): Promise<LinearWorkspace | undefined> {
    return this.k.selectFrom('linear_workspaces').selectAll().where('id', '=', id).executeTakeFirst();
  }

  async listWorkspaces(): Promise<LinearWorkspace[]> {
    return this.k.selectFrom('linear_workspaces').selectAll().orderBy('name').execute();
  }

  async upsertProject(p: { projectId: string; workspaceId: string; name: string; repo: string; triggerLabel: string }): Promise<LinearProject> {
    const now = this.now();
    const values = { workspace_id: p.workspaceId, name: p.name, repo: p.repo, trigger_label: p.triggerLabel, status: 'active', updated_at: now };
    await this.k
      .insertInto('linear_projects')
      .values({ project_id: p.projectId, created_at: now, ...values })
      .onConflict((oc) => oc.column('project_id').doUpdateSet(values))
      .execute();
    return (await this.getProject(p.projectId))!;
  }

  async getProject(projectId: string): Promise<LinearProject | undefined> {
    return this.k.selectFrom('linear_projects').selectAll().where('project_id', '=', projectId).executeTakeFirst();
  }

  async listProjects(): Promise<LinearProject[]> {
    return this.k.selectFrom('linear_projects').selectAll().orderBy('name').execute();
  }

  /** Marks a project removed (kept, so a later label on it says it was removed rather than never onboarded). */
  async offboardProject(projectId: string): Promise<boolean> {
    const r = await this.k
      .updateTable('linear_projects')
      .set({ status: 'removed', updated_at: this.now() })
      .where('project_id', '=', projectId)
      .where('status', '=', 'active')
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  async linkUser(l: { workspaceId: string; linearUserId: string; linearUserName: string; linearUserEmail: string | null; userId: string }): Promise<void> {
    const values = { linear_user_name: l.linearUserName, linear_user_email: l.linearUserEmail, user_id: l.userId };
    await this.k
      .insertInto('linear_user_links')
      .values({ workspace_id: l.workspaceId, linear_user_id: l.linearUserId, created_at: this.now(), ...values })
      .onConflict((oc) => oc.columns(['workspace_id', 'linear_user_id']).doUpdateSet(values))
      .execute();
  }

  async getUserLink(workspaceId: string, linearUserId: string): Promise<LinearUserLink | undefined> {
    return this.k
      .selectFrom('linear_user_links')
      .selectAll()
      .where('workspace_id', '=', workspaceId)
      .where('linear_user_id', '=', linearUserId)
      .executeTakeFirst();
  }

  async listUserLinks(): Promise<(LinearUserLink & { user_name: string })[]> {
    return this.k
      .selectFrom('linear_user_links')
      .innerJoin('users', 'users.id', 'linear_user_links.user_id')
      .selectAll('linear_user_links')
      .select('users.name as user_name')
      .orderBy('linear_user_links.linear_user_name')
      .execute();
  }

  /** Writes a delivery unless its id or its (entity, action, timestamp) key was seen; false for a duplicate. */
  async insertDelivery(d: NewDelivery): Promise<boolean> {
    const r = await this.k
      .insertInto('linear_deliveries')
      .values({
        id: d.id,
        dedupe_key: d.dedupeKey,
        workspace_id: d.workspaceId,
        type: d.type,
        action: d.action,
        payload: d.payload,
        status: 'pending',
        attempts: 0,
        lease_owner: null,
        lease_expires_at: null,
        result: null,
        received_at: this.now(),
        processed_at: null,
        ordering_key: d.orderingKey,
        webhook_timestamp: Math.trunc(d.webhookTimestamp),
        not_before: null,
      })
      .onConflict((oc) => oc.doNothing())
      .executeTakeFirst();
    return Number(r.numInsertedOrUpdatedRows ?? 0n) === 1;
  }

  /**
   * Claims up to `limit` deliveries, oldest first, that are pending (and due), or whose processor's lease ran
   * out. Deliveries with the same ordering key are claimed one at a time, in the order Linear sent them: in
   * every process, a session's `prompted` waits until its `created` is done. The conditional claim checks
   * that again, so two processes can't both take one, or two of one key.
   */
  async claimDeliveries(owner: string, leaseMs: number, limit: number): Promise<LinearDelivery[]> {
    const now = this.now();
    const candidates = await this.k
      .selectFrom('linear_deliveries as d')
      .select(['d.id', 'd.status', 'd.lease_expires_at'])
      .where((eb) =>
        eb.or([
          eb.and([eb('d.status', '=', 'pending'), eb.or([eb('d.not_before', 'is', null), eb('d.not_before', '<=', now)])]),
          eb.and([eb('d.status', '=', 'processing'), eb('d.lease_expires_at', '<', now)]),
        ]),
      )
      .where(sql<boolean>`not ${behindAnother('d')}`)
      .orderBy('d.webhook_timestamp')
      .orderBy('d.id')
      .limit(limit)
      .execute();
    const claimed: LinearDelivery[] = [];
    for (const c of candidates) {
      let update = this.k
        .updateTable('linear_deliveries')
        .set((eb) => ({ status: 'processing', lease_owner: owner, lease_expires_at: now + leaseMs, attempts: eb('attempts', '+', 1) }))
        .where('id', '=', c.id)
        .where('status', '=', c.status)
        .where(sql<boolean>`not ${behindAnother('linear_deliveries')}`);
      update = c.lease_expires_at === null ? update.where('lease_expires_at', 'is', null) : update.where('lease_expires_at', '=', c.lease_expires_at);
      if (Number((await update.executeTakeFirst()).numUpdatedRows) === 1) {
        claimed.push((await this.k.selectFrom('linear_deliveries').selectAll().where('id', '=', c.id).executeTakeFirstOrThrow()));
      }
    }
    return claimed;
  }

  /** Extends the lease of a delivery still being processed; false when `owner` no longer holds it. */
  async renewDeliveryLease(id: string, owner: string, leaseMs: number): Promise<boolean> {
    const r = await this.held(id, owner).set({ lease_expires_at: this.now() + leaseMs }).executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  /** Puts a delivery that failed for a passing reason back, to be tried again after `delayMs`; false when `owner` lost it. */
  async retryDelivery(id: string, owner: string, error: string, delayMs: number): Promise<boolean> {
    const r = await this.held(id, owner).set({ status: 'pending', result: error, not_before: this.now() + delayMs, lease_owner: null, lease_expires_at: null }).executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  /** False when `owner` no longer held the delivery (its lease ran out and another process took it). */
  async finishDelivery(id: string, owner: string, status: 'done' | 'failed', result: string): Promise<boolean> {
    const r = await this.held(id, owner).set({ status, result, processed_at: this.now(), lease_owner: null, lease_expires_at: null }).executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  private held(id: string, owner: string) {
    return this.k.updateTable('linear_deliveries').where('id', '=', id).where('lease_owner', '=', owner).where('status', '=', 'processing');
  }

  async getDelivery(id: string): Promise<LinearDelivery | undefined> {
    return this.k.selectFrom('linear_deliveries').selectAll().where('id', '=', id).executeTakeFirst();
  }

  async countDeliveries(): Promise<number> {
    const r = await this.k.selectFrom('linear_deliveries').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    return Number(r.n);
  }

  /** Forgets processed deliveries older than the deduplication window. */
  async purgeDeliveries(olderThanMs: number): Promise<number> {
    const r = await this.k
      .deleteFrom('linear_deliveries')
      .where('status', 'in', ['done', 'failed'])
      .where('received_at', '<', this.now() - olderThanMs)
      .executeTakeFirst();
    return Number(r.numDeletedRows);
  }

  /** Records that a one-time note (help text, "queued") was posted on an issue; false if it already was. */
  async noteOnce(issueId: string, kind: string): Promise<boolean> {
    const r = await this.k
      .insertInto('linear_issue_notes')
      .values({ issue_id: issueId, kind, created_at: this.now() })
      .onConflict((oc) => oc.doNothing())
      .executeTakeFirst();
    return Number(r.numInsertedOrUpdatedRows ?? 0n) === 1;
  }
}
