import { sql, type Insertable, type Kysely, type Transaction, type Updateable } from 'kysely';
import type { Db } from './connection.js';
import type { Database, TasksTable } from './schema.js';
import { eventFromRow, taskFromRow } from './rows.js';
import type { NewTaskEvent, Task, TaskEvent } from '../tasks/task.js';
import { canTransition, type TaskStatus } from '../tasks/states.js';
import { ApiError, TransitionConflictError } from '../tasks/errors.js';

type Executor = Kysely<Database> | Transaction<Database>;

export interface TransitionOptions {
  /** Extra columns written with the status change. */
  patch?: Updateable<TasksTable>;
  event: NewTaskEvent;
  /** Only succeed while this worker still holds the task's lease. */
  leaseOwner?: string;
}

export interface ListTasksQuery {
  status?: TaskStatus[];
  repo?: string;
  userId?: string;
  /** Return tasks older than this id (ids are ULIDs, so id order is creation order). */
  before?: string;
  limit: number;
}

/** Statuses of a task that waits to start (a new task, a continuation, one held back by the user's concurrency cap). */
export const WAITING_STATUSES: readonly TaskStatus[] = ['SUBMITTED', 'QUEUED'];

export const DEFAULT_MAX_QUEUED_PER_USER = 100;

/** Tasks and their events. Every status change is a conditional write plus an event, in one transaction. */
export class TaskStore {
  constructor(
    private readonly db: Db,
    private readonly now: () => number = Date.now,
    /** A new task is refused while its user already has this many waiting (BGAGENT_MAX_QUEUED_PER_USER). */
    private readonly maxQueuedPerUser = DEFAULT_MAX_QUEUED_PER_USER,
  ) {}

  async insert(row: Insertable<TasksTable>, event: NewTaskEvent): Promise<Task> {
    return this.db.kysely.transaction().execute((trx) => this.insertWith(trx, row, event));
  }

  /**
   * The same, inside a caller's transaction (a continuation takes its parent's unsaved inputs in the same step).
   * Throws TOO_MANY_QUEUED_TASKS, writing nothing, when the user already has `maxQueuedPerUser` tasks waiting.
   */
  async insertWith(trx: Transaction<Database>, row: Insertable<TasksTable>, event: NewTaskEvent): Promise<Task> {
    await this.refuseOverQueueLimit(trx, row.user_id);
    await trx.insertInto('tasks').values(row).execute();
    await this.appendEventWith(trx, row.id, event);
    return taskFromRow(await trx.selectFrom('tasks').selectAll().where('id', '=', row.id).executeTakeFirstOrThrow());
  }

  /**
   * Throws TOO_MANY_QUEUED_TASKS when the user already has `maxQueuedPerUser` tasks waiting: before a new task,
   * or an answer that puts a task back in line. The count and the write after it are one step: on PostgreSQL
   * the user's row lock (the one admission takes) keeps two concurrent creates from both passing at the
   * limit; SQLite has a single writer.
   */
  async refuseOverQueueLimit(trx: Transaction<Database>, userId: string): Promise<void> {
    if (this.db.dialect === 'postgres') await sql`select id from users where id = ${userId} for update`.execute(trx);
    const row = await trx
      .selectFrom('tasks')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('user_id', '=', userId)
      .where('status', 'in', [...WAITING_STATUSES])
      .executeTakeFirstOrThrow();
    const waiting = Number(row.n);
    if (waiting >= this.maxQueuedPerUser) {
      throw new ApiError(
        'TOO_MANY_QUEUED_TASKS',
        `you already have ${waiting} task${waiting === 1 ? '' : 's'} waiting to start (at most ${this.maxQueuedPerUser} per user); try again when some have started, or cancel some (bgagent list --status SUBMITTED,QUEUED, then bgagent cancel ID)`,
      );
    }
  }

  async get(id: string): Promise<Task | undefined> {
    const row = await this.db.kysely.selectFrom('tasks').selectAll().where('id', '=', id).executeTakeFirst();
    return row && taskFromRow(row);
  }

  async findByIdempotencyKey(key: string): Promise<Task | undefined> {
    const row = await this.db.kysely.selectFrom('tasks').selectAll().where('idempotency_key', '=', key).executeTakeFirst();
    return row && taskFromRow(row);
  }

  /** The newest task continuing this one, if any. */
  async latestContinuation(id: string): Promise<Task | undefined> {
    const row = await this.db.kysely.selectFrom('tasks').selectAll().where('parent_task_id', '=', id).orderBy('created_at', 'desc').orderBy('id', 'desc').limit(1).executeTakeFirst();
    return row && taskFromRow(row);
  }

  async list(q: ListTasksQuery): Promise<Task[]> {
    let query = this.db.kysely.selectFrom('tasks').selectAll().orderBy('id', 'desc').limit(q.limit);
    if (q.status?.length) query = query.where('status', 'in', q.status);
    if (q.repo) query = query.where('repo', '=', q.repo);
    if (q.userId) query = query.where('user_id', '=', q.userId);
    if (q.before) query = query.where('id', '<', q.before);
    return (await query.execute()).map(taskFromRow);
  }

  /** Tasks in the given statuses, oldest first (for recovery and the dispatcher). */
  async listByStatus(statuses: readonly TaskStatus[], limit = 500): Promise<Task[]> {
    const rows = await this.db.kysely
      .selectFrom('tasks')
      .selectAll()
      .where('status', 'in', [...statuses])
      .orderBy('created_at')
      .orderBy('id')
      .limit(limit)
      .execute();
    return rows.map(taskFromRow);
  }

  async transition(id: string, from: readonly TaskStatus[], to: TaskStatus, opts: TransitionOptions): Promise<Task> {
    return this.db.kysely.transaction().execute((trx) => this.transitionWith(trx, id, from, to, opts));
  }

  /** The same, inside a caller's transaction (admission moves several tasks at once). */
  async transitionWith(
    trx: Executor,
    id: string,
    from: readonly TaskStatus[],
    to: TaskStatus,
    opts: TransitionOptions,
  ): Promise<Task> {
    const allowed = from.filter((f) => canTransition(f, to));
    if (allowed.length === 0) throw new TransitionConflictError(id, from, to);
    const now = this.now();
    let update = trx
      .updateTable('tasks')
      .set({ ...opts.patch, status: to, updated_at: now })
      .where('id', '=', id)
      .where('status', 'in', allowed);
    if (opts.leaseOwner !== undefined) update = update.where('lease_owner', '=', opts.leaseOwner);
    const result = await update.executeTakeFirst();
    if (Number(result.numUpdatedRows) !== 1) throw new TransitionConflictError(id, allowed, to);
    await this.appendEventWith(trx, id, opts.event);
    return taskFromRow(await trx.selectFrom('tasks').selectAll().where('id', '=', id).executeTakeFirstOrThrow());
  }

  /** Write columns that are not a status change, guarded by the expected status (and lease). */
  async update(
    id: string,
    expected: readonly TaskStatus[],
    patch: Updateable<TasksTable>,
    leaseOwner?: string,
  ): Promise<boolean> {
    let update = this.db.kysely
      .updateTable('tasks')
      .set({ ...patch, updated_at: this.now() })
      .where('id', '=', id)
      .where('status', 'in', [...expected]);
    if (leaseOwner !== undefined) update = update.where('lease_owner', '=', leaseOwner);
    const result = await update.executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  async incrementLinearCalls(id: string, by = 1): Promise<void> {
    await this.db.kysely
      .updateTable('tasks')
      .set((eb) => ({ linear_calls: eb('linear_calls', '+', by) }))
      .where('id', '=', id)
      .execute();
  }

  async appendEvent(taskId: string, event: NewTaskEvent): Promise<TaskEvent> {
    return this.appendEventWith(this.db.kysely, taskId, event);
  }

  /** Appends an event inside a caller's transaction. */
  async appendEventWith(exec: Executor, taskId: string, event: NewTaskEvent): Promise<TaskEvent> {
    const row = await exec
      .insertInto('task_events')
      .values({
        task_id: taskId,
        type: event.type,
        message: event.message,
        data: event.data ? JSON.stringify(event.data) : null,
        created_at: this.now(),
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    return eventFromRow(row);
  }

  /** How many of the task's events have one of these types. */
  async countEvents(taskId: string, types: readonly string[]): Promise<number> {
    const row = await this.db.kysely
      .selectFrom('task_events')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('task_id', '=', taskId)
      .where('type', 'in', [...types])
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  async listEvents(taskId: string, after = 0, limit = 1000): Promise<TaskEvent[]> {
    const rows = await this.db.kysely
      .selectFrom('task_events')
      .selectAll()
      .where('task_id', '=', taskId)
      .where('id', '>', after)
      .orderBy('id')
      .limit(limit)
      .execute();
    return rows.map(eventFromRow);
  }
}
