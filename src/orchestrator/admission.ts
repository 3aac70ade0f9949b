import { sql } from 'kysely';
import type { Store } from '../store/index.js';
import { WAITING_STATUSES } from '../store/tasks.js';
import { LEASED_STATUSES } from '../tasks/states.js';
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
      .where('status', 'in', [...LEASED_STATUSES])
      .executeTakeFirstOrThrow();
    const active = Number(activeRow.n);
    const free = Math.max(0, cap - active);
    const waiting = () =>
      trx.selectFrom('tasks').select(['id', 'status', 'created_at']).where('user_id', '=', opts.userId).where('status', 'in', [...WAITING_STATUSES]).orderBy('created_at').orderBy('id');
    const admitted: Task[] = [];
    const queued: Task[] = [];
    // Only the oldest `free` waiting tasks may run; reading just those keeps admission cheap however long the queue is.
    const window = free > 0 ? await waiting().limit(free).execute() : [];
    for (const row of window.slice(0, Math.max(0, opts.capacity))) {
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
    }
    // New tasks behind the window wait in the queue; each is told its place once.
    const last = window.at(-1);
    let behind = trx.selectFrom('tasks').select(['id']).where('user_id', '=', opts.userId).where('status', '=', 'SUBMITTED').orderBy('created_at').orderBy('id');
    if (free > 0) {
      if (window.length < free) behind = behind.where(sql<boolean>`false`);
      else behind = behind.where((eb) => eb.or([eb('created_at', '>', last!.created_at), eb.and([eb('created_at', '=', last!.created_at), eb('id', '>', last!.id)])]));
    }
    const toQueue = await behind.execute();
    if (toQueue.length) {
      const ahead = await trx
        .selectFrom('tasks')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('user_id', '=', opts.userId)
        .where('status', '=', 'QUEUED')
        .executeTakeFirstOrThrow();
      let position = Number(ahead.n);
      for (const row of toQueue) {
        position += 1;
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
