import { Migrator, sql, type Kysely, type Migration, type MigrationProvider } from 'kysely';
import type { Db, Dialect } from './connection.js';

/**
 * Migrations are code, ordered by name. Each takes the dialect because a few column types differ
 * (auto-increment ids, 64-bit integers, floats); everything else is shared.
 */
function migrations(dialect: Dialect): Record<string, Migration> {
  const int64 = dialect === 'postgres' ? 'bigint' : 'integer';
  const float = dialect === 'postgres' ? 'double precision' : 'real';
  return {
    '0001_initial': {
      async up(db: Kysely<unknown>) {
        await db.schema
          .createTable('users')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('name', 'text', (c) => c.notNull().unique())
          .addColumn('is_admin', 'integer', (c) => c.notNull().defaultTo(0))
          .addColumn('max_concurrent', 'integer')
          .addColumn('created_at', int64, (c) => c.notNull())
          .execute();
        await db.schema
          .createTable('api_tokens')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('user_id', 'text', (c) => c.notNull().references('users.id'))
          .addColumn('name', 'text', (c) => c.notNull())
          .addColumn('token_hash', 'text', (c) => c.notNull().unique())
          .addColumn('prefix', 'text', (c) => c.notNull())
          .addColumn('created_at', int64, (c) => c.notNull())
          .addColumn('last_used_at', int64)
          .addColumn('revoked_at', int64)
          .execute();
        await db.schema
          .createTable('repos')
          .addColumn('name', 'text', (c) => c.primaryKey())
          .addColumn('clone_url', 'text', (c) => c.notNull())
          .addColumn('default_branch', 'text', (c) => c.notNull())
          .addColumn('agent', 'text', (c) => c.notNull())
          .addColumn('agent_settings', 'text', (c) => c.notNull())
          .addColumn('created_at', int64, (c) => c.notNull())
          .addColumn('updated_at', int64, (c) => c.notNull())
          .execute();
        await db.schema
          .createTable('tasks')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('user_id', 'text', (c) => c.notNull().references('users.id'))
          .addColumn('repo', 'text', (c) => c.notNull())
          .addColumn('task_description', 'text', (c) => c.notNull())
          .addColumn('issue_ref', 'text')
          .addColumn('status', 'text', (c) => c.notNull())
          .addColumn('branch_name', 'text', (c) => c.notNull())
          .addColumn('pr_url', 'text')
          .addColumn('pr_number', 'integer')
          .addColumn('max_turns', 'integer')
          .addColumn('max_budget_usd', float)
          .addColumn('idempotency_key', 'text', (c) => c.unique())
          .addColumn('channel_source', 'text', (c) => c.notNull())
          .addColumn('channel_metadata', 'text', (c) => c.notNull())
          .addColumn('error_code', 'text')
          .addColumn('error_message', 'text')
          .addColumn('outcome', 'text')
          .addColumn('summary', 'text')
          .addColumn('cost_usd', float)
          .addColumn('turns', 'integer')
          .addColumn('linear_calls', 'integer', (c) => c.notNull().defaultTo(0))
          .addColumn('attempt', 'integer', (c) => c.notNull().defaultTo(0))
          .addColumn('lease_owner', 'text')
          .addColumn('lease_expires_at', int64)
          .addColumn('cancelled_by', 'text')
          .addColumn('created_at', int64, (c) => c.notNull())
          .addColumn('queued_at', int64)
          .addColumn('started_at', int64)
          .addColumn('heartbeat_at', int64)
          .addColumn('finished_at', int64)
          .addColumn('updated_at', int64, (c) => c.notNull())
          .execute();
        await db.schema.createIndex('tasks_user_status').on('tasks').columns(['user_id', 'status', 'created_at']).execute();
        await db.schema.createIndex('tasks_status_created').on('tasks').columns(['status', 'created_at']).execute();
        await db.schema.createIndex('tasks_repo_created').on('tasks').columns(['repo', 'created_at']).execute();
        await db.schema
          .createTable('task_events')
          .addColumn('id', dialect === 'postgres' ? 'bigserial' : 'integer', (c) =>
            dialect === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement(),
          )
          .addColumn('task_id', 'text', (c) => c.notNull().references('tasks.id'))
          .addColumn('type', 'text', (c) => c.notNull())
          .addColumn('message', 'text', (c) => c.notNull())
          .addColumn('data', 'text')
          .addColumn('created_at', int64, (c) => c.notNull())
          .execute();
        await db.schema.createIndex('task_events_task').on('task_events').columns(['task_id', 'id']).execute();
      },
    },
    '0002_linear': {
      async up(db: Kysely<unknown>) {
        await db.schema
          .createTable('linear_workspaces')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('url_key', 'text', (c) => c.notNull())
          .addColumn('name', 'text', (c) => c.notNull())
          .addColumn('api_key_ref', 'text', (c) => c.notNull())
          .addColumn('signing_secret_ref', 'text')
          .addColumn('viewer_id', 'text')
          .addColumn('status', 'text', (c) => c.notNull())
          .addColumn('created_at', int64, (c) => c.notNull())
          .addColumn('updated_at', int64, (c) => c.notNull())
          .execute();
        await db.schema
          .createTable('linear_projects')
          .addColumn('project_id', 'text', (c) => c.primaryKey())
          .addColumn('workspace_id', 'text', (c) => c.notNull())
          .addColumn('name', 'text', (c) => c.notNull())
          .addColumn('repo', 'text', (c) => c.notNull())
          .addColumn('trigger_label', 'text', (c) => c.notNull())
          .addColumn('status', 'text', (c) => c.notNull())
          .addColumn('created_at', int64, (c) => c.notNull())
          .addColumn('updated_at', int64, (c) => c.notNull())
          .execute();
        await db.schema
          .createTable('linear_user_links')
          .addColumn('workspace_id', 'text', (c) => c.notNull())
          .addColumn('linear_user_id', 'text', (c) => c.notNull())
          .addColumn('linear_user_name', 'text', (c) => c.notNull())
          .addColumn('linear_user_email', 'text')
          .addColumn('user_id', 'text', (c) => c.notNull().references('users.id'))
          .addColumn('created_at', int64, (c) => c.notNull())
          .addPrimaryKeyConstraint('linear_user_links_pk', ['workspace_id', 'linear_user_id'])
          .execute();
        await db.schema
          .createTable('linear_deliveries')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('dedupe_key', 'text', (c) => c.notNull().unique())
          .addColumn('workspace_id', 'text')
          .addColumn('type', 'text', (c) => c.notNull())
          .addColumn('action', 'text', (c) => c.notNull())
          .addColumn('payload', 'text', (c) => c.notNull())
          .addColumn('status', 'text', (c) => c.notNull())
          .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
          .addColumn('lease_owner', 'text')
          .addColumn('lease_expires_at', int64)
          .addColumn('result', 'text')
          .addColumn('received_at', int64, (c) => c.notNull())
          .addColumn('processed_at', int64)
          .execute();
        await db.schema.createIndex('linear_deliveries_status').on('linear_deliveries').columns(['status', 'received_at']).execute();
        await db.schema
          .createTable('linear_issue_notes')
          .addColumn('issue_id', 'text', (c) => c.notNull())
          .addColumn('kind', 'text', (c) => c.notNull())
          .addColumn('created_at', int64, (c) => c.notNull())
          .addPrimaryKeyConstraint('linear_issue_notes_pk', ['issue_id', 'kind'])
          .execute();
      },
    },
    '0003_linear_oauth': {
      async up(db: Kysely<unknown>) {
        // auth_kind 'oauth': api_key_ref names the vault entry with the workspace's OAuth tokens.
        await db.schema.alterTable('linear_workspaces').addColumn('auth_kind', 'text', (c) => c.notNull().defaultTo('api_key')).execute();
        await db.schema.alterTable('linear_workspaces').addColumn('app_user_id', 'text').execute();
        await db.schema.alterTable('linear_workspaces').addColumn('oauth_scopes', 'text').execute();
        await db.schema.alterTable('linear_workspaces').addColumn('token_expires_at', int64).execute();
        await db.schema.alterTable('linear_workspaces').addColumn('status_reason', 'text').execute();
        await db.schema
          .createTable('linear_oauth_installs')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('state_hash', 'text', (c) => c.notNull().unique())
          .addColumn('code_verifier', 'text', (c) => c.notNull())
          .addColumn('redirect_uri', 'text', (c) => c.notNull())
          .addColumn('status', 'text', (c) => c.notNull())
          .addColumn('workspace_id', 'text')
          .addColumn('error', 'text')
          .addColumn('created_at', int64, (c) => c.notNull())
          .addColumn('expires_at', int64, (c) => c.notNull())
          .addColumn('finished_at', int64)
          .execute();
      },
    },
    '0004_task_inputs': {
      async up(db: Kysely<unknown>) {
        // A continuation's parent; the open question of a task waiting for an answer; time spent waiting (not counted in the time limit).
        await db.schema.alterTable('tasks').addColumn('parent_task_id', 'text').execute();
        await db.schema.alterTable('tasks').addColumn('question', 'text').execute();
        await db.schema.alterTable('tasks').addColumn('question_asked_at', int64).execute();
        await db.schema.alterTable('tasks').addColumn('input_wait_ms', int64, (c) => c.notNull().defaultTo(0)).execute();
        await db.schema.createIndex('tasks_parent').on('tasks').columns(['parent_task_id', 'created_at']).execute();
        await db.schema
          .createTable('task_inputs')
          .addColumn('id', dialect === 'postgres' ? 'bigserial' : 'integer', (c) =>
            dialect === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement(),
          )
          .addColumn('task_id', 'text', (c) => c.notNull().references('tasks.id'))
          .addColumn('kind', 'text', (c) => c.notNull())
          .addColumn('text', 'text', (c) => c.notNull())
          .addColumn('author', 'text', (c) => c.notNull())
          .addColumn('created_at', int64, (c) => c.notNull())
          .addColumn('delivered_at', int64)
          .execute();
        await db.schema.createIndex('task_inputs_task').on('task_inputs').columns(['task_id', 'delivered_at', 'id']).execute();
        await db.schema
          .createTable('agent_conversations')
          .addColumn('task_id', 'text', (c) => c.primaryKey().references('tasks.id'))
          .addColumn('harness', 'text', (c) => c.notNull())
          .addColumn('session_id', 'text', (c) => c.notNull())
          .addColumn('transcript', 'text', (c) => c.notNull())
          .addColumn('updated_at', int64, (c) => c.notNull())
          .execute();
      },
    },
    '0005_linear_agent_sessions': {
      async up(db: Kysely<unknown>) {
        await db.schema
          .createTable('linear_agent_sessions')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('workspace_id', 'text', (c) => c.notNull())
          .addColumn('issue_id', 'text')
          .addColumn('issue_identifier', 'text')
          .addColumn('creator_id', 'text')
          .addColumn('task_id', 'text')
          .addColumn('status', 'text', (c) => c.notNull())
          .addColumn('context', 'text', (c) => c.notNull())
          .addColumn('created_at', int64, (c) => c.notNull())
          .addColumn('updated_at', int64, (c) => c.notNull())
          .execute();
        await db.schema.createIndex('linear_agent_sessions_task').on('linear_agent_sessions').column('task_id').execute();
        await db.schema
          .createTable('linear_team_repos')
          .addColumn('team_id', 'text', (c) => c.primaryKey())
          .addColumn('repo', 'text', (c) => c.notNull())
          .addColumn('created_at', int64, (c) => c.notNull())
          .addColumn('updated_at', int64, (c) => c.notNull())
          .execute();
      },
    },
    '0006_linear_delivery_order': {
      async up(db: Kysely<unknown>) {
        // A delivery waits for the unfinished ones of its ordering key (its agent session or issue; null: none)
        // sent before it by Linear (webhook_timestamp: Linear's clock, the same for every process); a delivery
        // that failed for a passing reason is not tried again before not_before.
        await db.schema.alterTable('linear_deliveries').addColumn('ordering_key', 'text').execute();
        await db.schema.alterTable('linear_deliveries').addColumn('webhook_timestamp', int64, (c) => c.notNull().defaultTo(0)).execute();
        await db.schema.alterTable('linear_deliveries').addColumn('not_before', int64).execute();
        const key =
          dialect === 'postgres'
            ? sql`coalesce(payload::jsonb #>> '{agentSession,id}', payload::jsonb #>> '{data,id}')`
            : sql`coalesce(json_extract(payload, '$.agentSession.id'), json_extract(payload, '$.data.id'))`;
        await sql`update linear_deliveries set webhook_timestamp = received_at`.execute(db);
        await sql`update linear_deliveries set ordering_key = ${key} where status in ('pending', 'processing')`.execute(db);
        await db.schema.createIndex('linear_deliveries_ordering').on('linear_deliveries').columns(['ordering_key', 'status']).execute();
      },
    },
    '0007_one_continuation_per_task': {
      async up(db: Kysely<unknown>) {
        // Two messages could race to continue one ended task. Chain any such siblings (each continues the
        // one before it, as if sent one after another) so the index can hold from now on. A sibling may have
        // continuations of its own, so go round until no task has two; each round moves tasks under a newer
        // parent, so it ends.
        const k = db as Kysely<{ tasks: { id: string; parent_task_id: string | null } }>;
        for (;;) {
          const twins = await k.selectFrom('tasks').select('parent_task_id').where('parent_task_id', 'is not', null).groupBy('parent_task_id').having(sql`count(*)`, '>', 1).execute();
          if (!twins.length) break;
          for (const { parent_task_id } of twins) {
            const children = await k.selectFrom('tasks').select('id').where('parent_task_id', '=', parent_task_id).orderBy('id').execute();
            for (let i = 1; i < children.length; i++) {
              await k.updateTable('tasks').set({ parent_task_id: children[i - 1]!.id }).where('id', '=', children[i]!.id).execute();
            }
          }
        }
        await db.schema.createIndex('tasks_one_continuation').on('tasks').column('parent_task_id').unique().where(sql.ref('parent_task_id'), 'is not', null).execute();
      },
    },
    '0008_encrypted_secrets': {
      async up(db: Kysely<unknown>) {
        // Sealed by the application (the key never reaches the database). Literal secrets stored before, and
        // OAuth token pairs in a machine's file vault, are moved here at `bgagent serve` start (the migration
        // has no key to encrypt with).
        await db.schema
          .createTable('encrypted_secrets')
          .addColumn('name', 'text', (c) => c.primaryKey())
          .addColumn('sealed', 'text', (c) => c.notNull())
          .addColumn('created_at', int64, (c) => c.notNull())
          .addColumn('updated_at', int64, (c) => c.notNull())
          .execute();
      },
    },
    '0009_web_sessions': {
      async up(db: Kysely<unknown>) {
        await db.schema
          .createTable('web_sessions')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('token_id', 'text', (c) => c.notNull().references('api_tokens.id'))
          .addColumn('user_id', 'text', (c) => c.notNull().references('users.id'))
          .addColumn('created_at', int64, (c) => c.notNull())
          .addColumn('last_seen_at', int64, (c) => c.notNull())
          .addColumn('expires_at', int64, (c) => c.notNull())
          .execute();
        await db.schema.createIndex('web_sessions_token').on('web_sessions').column('token_id').execute();
      },
    },
    '0010_retention': {
      async up(db: Kysely<unknown>) {
        // The retention job finds the old events by age: without this it would scan every recent event each run.
        await db.schema.createIndex('task_events_created').on('task_events').column('created_at').execute();
      },
    },
    '0011_repo_git_credential': {
      async up(db: Kysely<unknown>) {
        // A credential reference for git over http(s). A password still in a clone URL is moved out at
        // `bgagent serve` start (sealed into encrypted_secrets, which needs the key a migration does not have).
        await db.schema.alterTable('repos').addColumn('git_credential_ref', 'text').execute();
      },
    },
  };
}

export function migrationProvider(dialect: Dialect): MigrationProvider {
  return { getMigrations: async () => migrations(dialect) };
}

/** Used by readiness checks: the names of migrations this build knows. */
export function knownMigrationNames(dialect: Dialect): string[] {
  return Object.keys(migrations(dialect)).sort();
}

/** Applies every migration not applied yet; the names of those it applied. */
export async function migrate(db: Db): Promise<string[]> {
  const migrator = new Migrator({ db: db.kysely, provider: migrationProvider(db.dialect) });
  const { error, results } = await migrator.migrateToLatest();
  if (error) throw error instanceof Error ? error : new Error(String(error));
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}

export { sql };
