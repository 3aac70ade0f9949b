import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import type { SandboxState } from '../sandbox/index.js';
import type { Store } from '../store/index.js';
import { knownMigrationNames } from '../store/migrations.js';

export interface HealthDeps {
  store: Store;
  /** Whether this process's workers are taking work (started, not stopping). Omitted: not checked. */
  workersRunning?: () => boolean;
  /** How this process's agents run; unavailable: not ready, since every task it takes would fail. */
  sandbox?: SandboxState;
}

/**
 * Public, unauthenticated. `/healthz`: the process is alive. `/readyz`: it can do its job — the database
 * answers, every migration this build knows is applied, the workers run and their sandbox works; otherwise 503
 * with the reason.
 */
export async function healthRoutes(app: FastifyInstance, deps: HealthDeps): Promise<void> {
  const { store } = deps;
  app.get('/healthz', { config: { access: 'public' } }, async () => ({ status: 'ok' }));
  app.get('/readyz', { config: { access: 'public' } }, async (req, reply) => {
    const database = store.db.dialect;
    const unavailable = (reason: string) => reply.status(503).send({ status: 'unavailable', database, reason });
    let applied: Set<string>;
    try {
      await sql`select 1`.execute(store.db.kysely);
      applied = await appliedMigrations(store);
    } catch (err) {
      req.log.warn({ err }, 'readiness check failed');
      return unavailable('database unreachable');
    }
    const missing = knownMigrationNames(database).filter((name) => !applied.has(name));
    if (missing.length) return unavailable(`migrations not applied: ${missing.join(', ')}`);
    if (deps.workersRunning && !deps.workersRunning()) return unavailable('workers are not running (starting or shutting down)');
    if (deps.sandbox?.mode === 'unavailable') return unavailable(`sandbox unavailable: ${deps.sandbox.reason}`);
    return { status: 'ready', database, migrations: applied.size, workers: deps.workersRunning ? 'running' : 'not checked', sandbox: deps.sandbox?.mode ?? 'not checked' };
  });
}

/** Names in Kysely's migration table; none when the table does not exist yet. */
async function appliedMigrations(store: Store): Promise<Set<string>> {
  const exists =
    store.db.dialect === 'postgres'
      ? await sql<{ n: number }>`select count(*)::int as n from information_schema.tables where table_name = 'kysely_migration' and table_schema = current_schema()`.execute(store.db.kysely)
      : await sql<{ n: number }>`select count(*) as n from sqlite_master where type = 'table' and name = 'kysely_migration'`.execute(store.db.kysely);
  if (!Number(exists.rows[0]?.n)) return new Set();
  const rows = await sql<{ name: string }>`select name from kysely_migration`.execute(store.db.kysely);
  return new Set(rows.rows.map((r) => r.name));
}
