import type { Db } from './connection.js';

export interface TaskChangeMark {
  status: string;
  /** The task's newest event id (0: none). */
  lastEventId: number;
}

/**
 * For each of these tasks that exists: its status and newest event id, in one query. The event feed
 * compares them with the previous tick's to see which tasks changed.
 */
export async function taskChangeMarks(db: Db, taskIds: readonly string[]): Promise<Map<string, TaskChangeMark>> {
  if (!taskIds.length) return new Map();
  const rows = await db.kysely
    .selectFrom('tasks')
    .select((eb) => [
      'tasks.id',
      'tasks.status',
      eb.selectFrom('task_events').select((e) => e.fn.max('task_events.id').as('m')).whereRef('task_events.task_id', '=', 'tasks.id').as('last_event_id'),
    ])
    .where('tasks.id', 'in', [...taskIds])
    .execute();
  return new Map(rows.map((r) => [r.id, { status: r.status, lastEventId: Number(r.last_event_id ?? 0) }]));
}
