import type { Db } from './connection.js';
import { repoFromRow } from './rows.js';
import type { Repo } from '../tasks/task.js';

export interface NewRepo {
  name: string;
  cloneUrl: string;
  defaultBranch: string;
  agent: string;
  agentSettings: Record<string, unknown>;
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
