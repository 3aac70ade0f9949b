import type { Selectable } from 'kysely';
import type { Db } from './connection.js';
import type { LinearAgentSessionsTable, LinearTeamReposTable } from './schema.js';

export type LinearAgentSessionRow = Selectable<LinearAgentSessionsTable>;
export type LinearTeamRepo = Selectable<LinearTeamReposTable>;
export type AgentSessionStatus = 'awaiting_repo' | 'active' | 'refused';

/** Linear agent sessions (session id → workspace, issue, task) and the teams' default repositories. */
export class LinearSessionStore {
  constructor(private readonly db: Db, private readonly now: () => number = Date.now) {}

  private get k() {
    return this.db.kysely;
  }

  /** Records a session unless it is already known; returns the stored row either way and whether it was new. */
  async open(s: { id: string; workspaceId: string; issueId: string | null; issueIdentifier: string | null; creatorId: string | null; context: string }): Promise<{ session: LinearAgentSessionRow; created: boolean }> {
    const now = this.now();
    const r = await this.k
      .insertInto('linear_agent_sessions')
      .values({
        id: s.id,
        workspace_id: s.workspaceId,
        issue_id: s.issueId,
        issue_identifier: s.issueIdentifier,
        creator_id: s.creatorId,
        task_id: null,
        status: 'active',
        context: s.context,
        created_at: now,
        updated_at: now,
      })
      .onConflict((oc) => oc.column('id').doNothing())
      .executeTakeFirst();
    const created = Number(r.numInsertedOrUpdatedRows ?? 0n) === 1;
    return { session: (await this.get(s.id))!, created };
  }

  async get(id: string): Promise<LinearAgentSessionRow | undefined> {
    return this.k.selectFrom('linear_agent_sessions').selectAll().where('id', '=', id).executeTakeFirst();
  }

  async update(id: string, patch: { status?: AgentSessionStatus; taskId?: string }): Promise<void> {
    await this.k
      .updateTable('linear_agent_sessions')
      .set({ ...(patch.status ? { status: patch.status } : {}), ...(patch.taskId ? { task_id: patch.taskId } : {}), updated_at: this.now() })
      .where('id', '=', id)
      .execute();
  }

  async setTeamRepo(teamId: string, repo: string): Promise<{ teamRepo: LinearTeamRepo; created: boolean }> {
    const now = this.now();
    const existed = await this.getTeamRepo(teamId);
    await this.k
      .insertInto('linear_team_repos')
      .values({ team_id: teamId, repo, created_at: now, updated_at: now })
      .onConflict((oc) => oc.column('team_id').doUpdateSet({ repo, updated_at: now }))
      .execute();
    return { teamRepo: (await this.getTeamRepo(teamId))!, created: !existed };
  }

  async getTeamRepo(teamId: string): Promise<LinearTeamRepo | undefined> {
    return this.k.selectFrom('linear_team_repos').selectAll().where('team_id', '=', teamId).executeTakeFirst();
  }

  async listTeamRepos(): Promise<LinearTeamRepo[]> {
    return this.k.selectFrom('linear_team_repos').selectAll().orderBy('team_id').execute();
  }

  async removeTeamRepo(teamId: string): Promise<boolean> {
    const r = await this.k.deleteFrom('linear_team_repos').where('team_id', '=', teamId).executeTakeFirst();
    return Number(r.numDeletedRows) === 1;
  }
}
