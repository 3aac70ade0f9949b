import type { Logger } from '../log.js';
import type { Store } from '../store/index.js';
import { deleteExpired, type DeletedRows, type RetainedTable } from '../store/retention.js';

export interface RetentionJobOptions {
  store: Store;
  /** What ended longer ago than this is deleted (BGAGENT_RETENTION_DAYS). */
  retentionMs: number;
  logger: Logger;
  onDeleted?: (table: RetainedTable, rows: number) => void;
}

const HOUR_MS = 60 * 60 * 1000;

/**
 * Deletes what ended tasks leave behind (events, inputs, agent conversations) and processed Linear deliveries
 * once they are older than the retention period: at start, then hourly. Runs never overlap in one process;
 * in several PostgreSQL processes one deletes at a time (see deleteExpired).
 */
export class RetentionJob {
  private timer: NodeJS.Timeout | undefined;
  private current: Promise<DeletedRows | undefined> | undefined;
  private stopped = false;

  constructor(private readonly opts: RetentionJobOptions) {}

  start(): void {
    void this.run();
    this.timer = setInterval(() => void this.run(), HOUR_MS);
    this.timer.unref();
  }

  /** One pass; undefined when a pass is already under way here (or it failed: logged). */
  private run(): Promise<DeletedRows | undefined> {
    if (this.current || this.stopped) return Promise.resolve(undefined);
    const before = Date.now() - this.opts.retentionMs;
    this.current = deleteExpired(this.opts.store.db, {
      before,
      proceed: () => !this.stopped,
      onDeleted: this.opts.onDeleted,
    })
      .then((deleted) => {
        if (Object.values(deleted).some((n) => n > 0)) this.opts.logger.info({ deleted, before: new Date(before).toISOString() }, 'retention: deleted the data of tasks that ended before the retention period');
        return deleted;
      })
      .catch((err: unknown) => {
        this.opts.logger.warn({ err }, 'retention pass failed; the next one tries again');
        return undefined;
      })
      .finally(() => {
        this.current = undefined;
      });
    return this.current;
  }

  /** No new pass; the one under way stops after its current statement. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.current;
  }
}
