import type { Logger } from '../log.js';
import type { TaskSignals } from '../tasks/signals.js';
import { EmbeddedWorkQueue } from './embedded-queue.js';
import { GraphileWorkQueue, migrateGraphileWorker } from './graphile-queue.js';
import type { WorkQueue } from './work-queue.js';

export type { WorkQueue } from './work-queue.js';
export { EmbeddedWorkQueue } from './embedded-queue.js';
export { GraphileWorkQueue, migrateGraphileWorker, WAKE_TASK } from './graphile-queue.js';

/** graphile-worker on PostgreSQL, the in-process queue on SQLite. */
export function createWorkQueue(opts: { databaseUrl: string | undefined; signals: TaskSignals; logger: Logger }): WorkQueue {
  if (!opts.databaseUrl) return new EmbeddedWorkQueue(opts.signals);
  return new GraphileWorkQueue({ connectionString: opts.databaseUrl, signals: opts.signals, logger: opts.logger });
}

/** The queue's own schema, if it has one (graphile-worker does; the embedded queue does not). */
export async function migrateWorkQueue(databaseUrl: string | undefined, logger: Logger): Promise<void> {
  if (databaseUrl) await migrateGraphileWorker(databaseUrl, logger);
}
