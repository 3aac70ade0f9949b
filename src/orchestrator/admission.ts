import { sql } from 'kysely';
import type { Store } from '../store/index.js';
import { ACTIVE_STATUSES, type TaskStatus } from '../tasks/states.js';
import type { Task } from '../tasks/task.js';

export interface AdmitOptions {
  userId: string;
  workerId: string;
  leaseMs: number;
  /** The default per-user cap; a user's own max_concurrent overrides it. */
  defaultCap: number;
  /** How many tasks this worker can still start. */
  capacity: number;
  now: number;
}

export interface AdmissionResult {
  admitted: Task[];
  /** Tasks newly put in the queue because the user's cap is reached. */
  queued: Task[];
}

const WAITING: TaskStatus[] = ['SUBMITTED', 'QUEUED'];

/**
 * Admits a user's waiting tasks, oldest first, up to their concurrency cap and this worker's capacity.
 * Runs in one transaction holding the user's row lock (PostgreSQL) or the database's single writer
 * (SQLite), so the cap holds however many workers race. Admitted tasks move to HYDRATING with a lease
 * owned by `workerId`; tasks over the cap move to QUEUED, which is reported once.
 */
export async function admitUserTasks(store: Store, opts: AdmitOptions): Promise<AdmissionResult> {
  return store.db.kysely.transaction().execute(async (trx) => {
    if (store.db.dialect === 'postgres') {
      await sql`select id from users where id = ${opts.userId} for update`.execute(trx);
    }
    const user = await trx.selectFrom('users').select(['max_concurrent']).where('id', '=', opts.userId).executeTakeFirst();
    if (!user) return { admitted: [], queued: [] };
    const cap = user.max_concurrent ?? opts.defaultCap;
    const activeRow = await trx
      .selectFrom('tasks')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('user_id', '=', opts.userId)
      .where('status', 'in', [...ACTIVE_STATUSES])
      .executeTakeFirstOrThrow();
    const active = Number(activeRow.n);
    const waiting = await trx
      .selectFrom('tasks')
      .select(['id', 'status'])
      .where('user_id', '=', opts.userId)
      .where('status', 'in', WAITING)
      .orderBy('created_at')
      .orderBy('id')
      .execute();

    const free = Math.max(0, cap - active);
    const admitted: Task[] = [];
    const queued: Task[] = [];
    for (const [index, row] of waiting.entries()) {
      if (index < free && admitted.length < opts.capacity) {
        if (row.status === 'QUEUED') {
          await store.tasks.transitionWith(trx, row.id, ['QUEUED'], 'SUBMITTED', {
            event: { type: 'admission_released', message: 'A concurrency slot is free; leaving the queue' },
          });
        }
        admitted.push(
          await store.tasks.transitionWith(trx, row.id, ['SUBMITTED'], 'HYDRATING', {
            patch: { lease_owner: opts.workerId, lease_expires_at: opts.now + opts.leaseMs, heartbeat_at: opts.now },
            event: { type: 'admission_granted', message: `Admitted (${active + admitted.length + 1}/${cap} of the user's slots)` },
          }),
        );
      } else if (index >= free && row.status === 'SUBMITTED') {
        const position = index - free + 1;
        queued.push(
          await store.tasks.transitionWith(trx, row.id, ['SUBMITTED'], 'QUEUED', {
            patch: { queued_at: opts.now },
            event: {
              type: 'admission_queued',
              message: `Concurrency limit reached (${cap} running); queued at position ${position}`,
              data: { cap, position },
            },
          }),
        );
      }
    }
    return { admitted, queued };
  });
}
