import { sql, type DeleteResult, type Kysely, type Transaction } from 'kysely';
import type { Db } from './connection.js';
import type { Database } from './schema.js';
import { TERMINAL_STATUSES } from '../tasks/states.js';

type Executor = Kysely<Database> | Transaction<Database>;

/** The tables the retention job deletes from; the task rows themselves are kept (the task list stays). */
export const RETAINED_TABLES = ['task_events', 'task_inputs', 'agent_conversations', 'linear_deliveries'] as const;
export type RetainedTable = (typeof RETAINED_TABLES)[number];

export type DeletedRows = Record<RetainedTable, number>;

export interface DeleteExpiredOptions {
  /** Rows of tasks that ended before this (epoch ms), and Linear deliveries processed before it, go. */
  before: number;
  /** Rows per DELETE statement, so no statement holds its locks for long. */
  batchSize?: number;
  /** Checked between statements: false stops the run (the server is shutting down). */
  proceed?: () => boolean;
  /** Told after each statement that deleted something. */
  onDeleted?: (table: RetainedTable, rows: number) => void;
}

const DEFAULT_RETENTION_BATCH_SIZE = 1000;

/** pg_try_advisory_xact_lock key of the retention job: one PostgreSQL process deletes at a time. */
const RETENTION_LOCK_KEY = 0x62676172; // "bgar"

/**
 * Deletes, in batches of `batchSize` rows, the events, inputs and saved agent conversations of tasks that
 * reached a terminal state before `before`, and the Linear deliveries processed before it. A conversation a
 * waiting or running continuation still has to resume is kept. Idempotent: a run stopped half-way, or one
 * that finds another process at work (PostgreSQL; it then stops), leaves the rest to the next run.
 */
export async function deleteExpired(db: Db, opts: DeleteExpiredOptions): Promise<DeletedRows> {
  const limit = opts.batchSize ?? DEFAULT_RETENTION_BATCH_SIZE;
  const deleted: DeletedRows = { task_events: 0, task_inputs: 0, agent_conversations: 0, linear_deliveries: 0 };
  for (const table of RETAINED_TABLES) {
    for (;;) {
      if (opts.proceed && !opts.proceed()) return deleted;
      const rows = await inShortTransaction(db, (exec) => DELETE_BATCH[table](exec, opts.before, limit));
      if (rows === undefined) return deleted;
      deleted[table] += rows;
      if (rows > 0) opts.onDeleted?.(table, rows);
      if (rows < limit) break;
    }
  }
  return deleted;
}

/** Runs one statement on its own; undefined on PostgreSQL when another process holds the retention lock. */
async function inShortTransaction(db: Db, work: (exec: Executor) => Promise<number>): Promise<number | undefined> {
  if (db.dialect === 'sqlite') return work(db.kysely);
  return db.kysely.transaction().execute(async (trx) => {
    const lock = await sql<{ locked: boolean }>`select pg_try_advisory_xact_lock(${RETENTION_LOCK_KEY}) as locked`.execute(trx);
    return lock.rows[0]?.locked ? work(trx) : undefined;
  });
}

const TERMINAL = [...TERMINAL_STATUSES];

type DeleteBatch = (exec: Executor, before: number, limit: number) => Promise<number>;

/** Ended tasks' rows of a table keyed by `id`. Every such row was written before its task ended, except a few after (a continuation's note on its parent): those wait their turn. */
const ofEndedTasks =
  (table: 'task_events' | 'task_inputs'): DeleteBatch =>
  async (exec, before, limit) => {
    const result = await sql`delete from ${sql.table(table)} where id in (
      select r.id from ${sql.table(table)} r join tasks t on t.id = r.task_id
      where r.created_at < ${before} and t.status in (${sql.join(TERMINAL)}) and t.finished_at < ${before}
      limit ${limit})`.execute(exec);
    return Number(result.numAffectedRows ?? 0);
  };

const deleted = async (query: Promise<DeleteResult>): Promise<number> => Number((await query).numDeletedRows);

/** One batch per table. SQLite has no DELETE … LIMIT by default, so each is `where key in (select key … limit n)`. */
const DELETE_BATCH: Record<RetainedTable, DeleteBatch> = {
  task_events: ofEndedTasks('task_events'),
  task_inputs: ofEndedTasks('task_inputs'),
  agent_conversations: (exec, before, limit) =>
    deleted(exec
      .deleteFrom('agent_conversations')
      .where('task_id', 'in', (eb) =>
        eb
          .selectFrom('agent_conversations as c')
          .innerJoin('tasks as t', 't.id', 'c.task_id')
          .select('c.task_id')
          .where('t.status', 'in', TERMINAL)
          .where('t.finished_at', '<', before)
          .where(({ not, exists, selectFrom }) =>
            not(exists(selectFrom('tasks as k').select('k.id').whereRef('k.parent_task_id', '=', 'c.task_id').where('k.status', 'not in', TERMINAL))),
          )
          .limit(limit),
      )
      .executeTakeFirst()),
  linear_deliveries: (exec, before, limit) =>
    deleted(exec
      .deleteFrom('linear_deliveries')
      .where('id', 'in', (eb) =>
        eb
          .selectFrom('linear_deliveries')
          .select('id')
          .where('status', 'in', ['done', 'failed'])
          // processed_at ≥ received_at: the redundant bound lets the (status, received_at) index find them.
          .where('received_at', '<', before)
          .where('processed_at', '<', before)
          .limit(limit),
      )
      .executeTakeFirst()),
};
