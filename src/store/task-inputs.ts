import type { Kysely, Selectable, Transaction } from 'kysely';
import type { Db } from './connection.js';
import type { Database, TaskInputsTable } from './schema.js';

type Executor = Kysely<Database> | Transaction<Database>;

export type TaskInputKind = 'follow_up' | 'answer';

export interface TaskInput {
  id: number;
  taskId: string;
  kind: TaskInputKind;
  text: string;
  author: string;
  createdAt: number;
  deliveredAt: number | null;
}

export interface AgentConversation {
  taskId: string;
  harness: string;
  sessionId: string;
  transcript: string;
  updatedAt: number;
}

/**
 * Follow-ups and answers waiting for a task's agent, and the agent conversations saved between runs.
 * The database is the place every process shares: the API stores an input, whichever worker runs the
 * task takes it.
 */
export class TaskInputStore {
  constructor(private readonly db: Db, private readonly now: () => number = Date.now) {}

  async add(exec: Executor, input: { taskId: string; kind: TaskInputKind; text: string; author: string }): Promise<TaskInput> {
    const row = await exec
      .insertInto('task_inputs')
      .values({ task_id: input.taskId, kind: input.kind, text: input.text, author: input.author, created_at: this.now(), delivered_at: null })
      .returningAll()
      .executeTakeFirstOrThrow();
    return inputFromRow(row);
  }

  async pending(taskId: string, kind?: TaskInputKind): Promise<TaskInput[]> {
    let q = this.db.kysely.selectFrom('task_inputs').selectAll().where('task_id', '=', taskId).where('delivered_at', 'is', null);
    if (kind) q = q.where('kind', '=', kind);
    return (await q.orderBy('id').execute()).map(inputFromRow);
  }

  /** Marks the pending inputs delivered and returns them, oldest first; two takers never get the same input. */
  async take(taskId: string): Promise<TaskInput[]> {
    return this.db.kysely.transaction().execute(async (trx) => {
      const rows = await trx.selectFrom('task_inputs').selectAll().where('task_id', '=', taskId).where('delivered_at', 'is', null).orderBy('id').execute();
      const taken: TaskInput[] = [];
      const now = this.now();
      for (const row of rows) {
        const result = await trx.updateTable('task_inputs').set({ delivered_at: now }).where('id', '=', row.id).where('delivered_at', 'is', null).executeTakeFirst();
        if (Number(result.numUpdatedRows) === 1) taken.push({ ...inputFromRow(row), deliveredAt: now });
      }
      return taken;
    });
  }

  /** How many messages wait for the task's agent, seen inside the caller's transaction. */
  async countPending(exec: Executor, taskId: string): Promise<number> {
    const row = await exec
      .selectFrom('task_inputs')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('task_id', '=', taskId)
      .where('delivered_at', 'is', null)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  /** The oldest message waiting for the task's agent, seen inside the caller's transaction. */
  async firstPending(exec: Executor, taskId: string): Promise<TaskInput | undefined> {
    const row = await exec.selectFrom('task_inputs').selectAll().where('task_id', '=', taskId).where('delivered_at', 'is', null).orderBy('id').limit(1).executeTakeFirst();
    return row && inputFromRow(row);
  }

  /** Inputs an agent took since `since` but never saw (the run ended first): pending again, for the next run or a continuation. */
  async release(taskId: string, texts: readonly string[], since: number): Promise<void> {
    if (!texts.length) return;
    await this.db.kysely
      .updateTable('task_inputs')
      .set({ delivered_at: null })
      .where('task_id', '=', taskId)
      .where('delivered_at', '>=', since)
      .where('text', 'in', [...texts])
      .execute();
  }

  /**
   * What an ended task's agent never worked on: the inputs still pending and, unless the task completed (its
   * agent did finish the work it was handed), those handed out at or after its conversation was last saved
   * (the run that took them crashed or was stopped). The pending ones are marked delivered: a continuation
   * carries them all.
   */
  async takeLeftovers(exec: Executor, taskId: string, opts: { completed: boolean }): Promise<TaskInput[]> {
    const saved = opts.completed ? undefined : await exec.selectFrom('agent_conversations').select('updated_at').where('task_id', '=', taskId).executeTakeFirst();
    const savedAt = saved ? Number(saved.updated_at) : -1;
    const rows = await exec
      .selectFrom('task_inputs')
      .selectAll()
      .where('task_id', '=', taskId)
      .where((eb) => (opts.completed ? eb('delivered_at', 'is', null) : eb.or([eb('delivered_at', 'is', null), eb('delivered_at', '>=', savedAt)])))
      .orderBy('id')
      .execute();
    const now = this.now();
    await exec.updateTable('task_inputs').set({ delivered_at: now }).where('task_id', '=', taskId).where('delivered_at', 'is', null).execute();
    return rows.map(inputFromRow);
  }

  async saveConversation(c: { taskId: string; harness: string; sessionId: string; transcript: string }): Promise<void> {
    const row = { task_id: c.taskId, harness: c.harness, session_id: c.sessionId, transcript: c.transcript, updated_at: this.now() };
    await this.db.kysely
      .insertInto('agent_conversations')
      .values(row)
      .onConflict((oc) => oc.column('task_id').doUpdateSet({ harness: row.harness, session_id: row.session_id, transcript: row.transcript, updated_at: row.updated_at }))
      .execute();
  }

  async conversation(taskId: string): Promise<AgentConversation | undefined> {
    const row = await this.db.kysely.selectFrom('agent_conversations').selectAll().where('task_id', '=', taskId).executeTakeFirst();
    return row && { taskId: row.task_id, harness: row.harness, sessionId: row.session_id, transcript: row.transcript, updatedAt: row.updated_at };
  }
}

function inputFromRow(r: Selectable<TaskInputsTable>): TaskInput {
  return {
    id: Number(r.id),
    taskId: r.task_id,
    kind: r.kind as TaskInputKind,
    text: r.text,
    author: r.author,
    createdAt: r.created_at,
    deliveredAt: r.delivered_at,
  };
}
