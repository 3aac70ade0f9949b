import type { Db } from './connection.js';
import { repoFromRow } from './rows.js';
import type { Repo } from '../tasks/task.js';

export interface NewRepo {
  name: string;
  cloneUrl: string;
  defaultBranch: string;
  agent: string;
  agentSettings: Record<string, unknown>;
  /** A credential reference, never a value; none by default. */
  gitCredentialRef?: string | null;
}

export class RepoStore {
  constructor(private readonly db: Db, private readonly now: () => number = Date.now) {}

  /** Onboard a repository, or update its settings when it is already onboarded. */
  async upsert(repo: NewRepo): Promise<{ repo: Repo; created: boolean }> {
    const now = this.now();
    const values = {
      clone_url: repo.cloneUrl,
      default_branch: repo.defaultBranch,
      agent: repo.agent,
      agent_settings: JSON.stringify(repo.agentSettings),
      git_credential_ref: repo.gitCredentialRef ?? null,
      updated_at: now,
    };
    const existed = await this.get(repo.name);
    await this.db.kysely
      .insertInto('repos')
      .values({ name: repo.name, created_at: now, ...values })
      .onConflict((oc) => oc.column('name').doUpdateSet(values))
      .execute();
    return { repo: (await this.get(repo.name))!, created: !existed };
  }

  /**
   * Swaps a clone URL that held a password for the URL without it and the reference to the moved password, if
   * the row still holds that URL (another process or an admin may have changed it). True when it did.
   */
  async moveClonePassword(name: string, from: string, to: { cloneUrl: string; gitCredentialRef: string }): Promise<boolean> {
    const result = await this.db.kysely
      .updateTable('repos')
      .set({ clone_url: to.cloneUrl, git_credential_ref: to.gitCredentialRef, updated_at: this.now() })
      .where('name', '=', name)
      .where('clone_url', '=', from)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  async get(name: string): Promise<Repo | undefined> {
    const row = await this.db.kysely.selectFrom('repos').selectAll().where('name', '=', name).executeTakeFirst();
    return row && repoFromRow(row);
  }

  async list(): Promise<Repo[]> {
    return (await this.db.kysely.selectFrom('repos').selectAll().orderBy('name').execute()).map(repoFromRow);
  }

  async remove(name: string): Promise<boolean> {
    const result = await this.db.kysely.deleteFrom('repos').where('name', '=', name).executeTakeFirst();
    return Number(result.numDeletedRows) === 1;
  }
}
