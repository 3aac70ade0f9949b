import { openDb, type Db, type OpenDbOptions } from './connection.js';
import { migrate } from './migrations.js';
import { RepoStore } from './repos.js';
import { TaskStore } from './tasks.js';
import { UserStore } from './users.js';
import { WebSessionStore } from './web-sessions.js';
import { LinearStore } from './linear.js';
import { TaskInputStore } from './task-inputs.js';
import { LinearOAuthStore } from './linear-oauth.js';
import { LinearSessionStore } from './linear-sessions.js';
import { SecretStore } from './secrets.js';

export type { Db, Dialect } from './connection.js';
export { TaskStore } from './tasks.js';
export { RepoStore } from './repos.js';
export { UserStore, hashToken } from './users.js';
export { WebSessionStore } from './web-sessions.js';
export { LinearStore } from './linear.js';
export { TaskInputStore, type TaskInput, type AgentConversation } from './task-inputs.js';
export { LinearOAuthStore } from './linear-oauth.js';
export { LinearSessionStore } from './linear-sessions.js';
export { SecretStore } from './secrets.js';

/** The database and one store per table group. */
export interface Store {
  db: Db;
  tasks: TaskStore;
  /** Follow-ups, answers and saved agent conversations. */
  inputs: TaskInputStore;
  repos: RepoStore;
  users: UserStore;
  /** Web sign-ins (the session cookie). */
  webSessions: WebSessionStore;
  linear: LinearStore;
  linearOAuth: LinearOAuthStore;
  linearSessions: LinearSessionStore;
  /** Sealed secrets (`db:` references, OAuth token pairs). */
  secrets: SecretStore;
  close(): Promise<void>;
}

export async function openStore(opts: OpenDbOptions & { now?: () => number; migrate?: boolean; maxQueuedPerUser?: number }): Promise<Store> {
  const db = openDb(opts);
  if (opts.migrate !== false) await migrate(db);
  const now = opts.now ?? Date.now;
  return {
    db,
    tasks: new TaskStore(db, now, opts.maxQueuedPerUser),
    inputs: new TaskInputStore(db, now),
    repos: new RepoStore(db, now),
    users: new UserStore(db, now),
    webSessions: new WebSessionStore(db, now),
    linear: new LinearStore(db, now),
    linearOAuth: new LinearOAuthStore(db, now),
    linearSessions: new LinearSessionStore(db, now),
    secrets: new SecretStore(db.kysely, now),
    close: () => db.close(),
  };
}

export { migrate };
