import pg from 'pg';
import { Logger as GraphileLogger, makeWorkerUtils, run, runMigrations, type LogLevel, type Runner, type WorkerUtils } from 'graphile-worker';
import type { Logger } from '../log.js';
import type { TaskSignals } from '../tasks/signals.js';
import type { WorkQueue } from './work-queue.js';

/** The graphile-worker task that wakes a worker's admission for one user. */
export const WAKE_TASK = 'bgagent_wake_user';

export interface GraphileWorkQueueOptions {
  connectionString: string;
  /** Process-local wake-ups (a slot freed here) are delivered to this worker too, without a round trip. */
  signals: TaskSignals;
  logger: Logger;
  /** The queue's pool (runner, LISTEN and wake jobs): wake jobs are tiny, a few connections are plenty. */
  maxPoolSize?: number;
}

/**
 * Many processes on PostgreSQL: a wake-up is a graphile-worker job (one per user at a time: the `jobKey`
 * coalesces repeated notifications), delivered through LISTEN/NOTIFY to one worker process within
 * milliseconds. A worker that cannot take the task (full) leaves it to the others' periodic sweep.
 */
export class GraphileWorkQueue implements WorkQueue {
  readonly kind = 'graphile-worker';
  private utils: Promise<WorkerUtils> | undefined;
  private runner: Runner | undefined;
  private offLocal: (() => void) | undefined;
  private readonly offForward: () => void;
  private closed = false;
  private pool: pg.Pool | undefined;

  constructor(private readonly opts: GraphileWorkQueueOptions) {
    // Wake-ups raised in this process (a task created or cancelled here, a slot freed here) concern every
    // worker, not only a local one: forward them to the queue.
    this.offForward = opts.signals.onWake((userId) => {
      this.notify(userId).catch((err: unknown) => opts.logger.warn({ err, userId }, 'could not queue a wake-up; workers will find the task on their next sweep'));
    });
  }

  async notify(userId: string): Promise<void> {
    if (this.closed) return;
    this.utils ??= makeWorkerUtils({ pgPool: this.sharedPool(), logger: graphileLogger(this.opts.logger) });
    const utils = await this.utils;
    await utils.addJob(WAKE_TASK, { userId }, { jobKey: `wake:${userId}`, maxAttempts: 1 });
  }

  async start(onWake: (userId: string) => void): Promise<void> {
    this.offLocal = this.opts.signals.onWake(onWake);
    this.runner = await run({
      pgPool: this.sharedPool(),
      logger: graphileLogger(this.opts.logger),
      concurrency: 1,
      noHandleSignals: true,
      pollInterval: 1000,
      taskList: {
        [WAKE_TASK]: async (payload) => {
          const userId = (payload as { userId?: unknown } | null)?.userId;
          if (typeof userId === 'string') onWake(userId);
        },
      },
    });
  }

  async stop(): Promise<void> {
    this.offLocal?.();
    this.offLocal = undefined;
    const runner = this.runner;
    this.runner = undefined;
    await runner?.stop();
  }

  async close(): Promise<void> {
    await this.stop();
    this.closed = true;
    this.offForward();
    const utils = this.utils;
    this.utils = undefined;
    await (await utils)?.release();
    const pool = this.pool;
    this.pool = undefined;
    await pool?.end();
  }

  /**
   * One pool of ours for graphile-worker's runner and utilities: closing waits until its connections are
   * gone (graphile-worker's own pools end in the background after their error handlers are removed, so a
   * connection dropped meanwhile would crash the process), and an error on an idle connection is logged.
   */
  private sharedPool(): pg.Pool {
    if (!this.pool) {
      this.pool = queuePool(this.opts.connectionString, this.opts.maxPoolSize ?? 4, this.opts.logger);
    }
    return this.pool;
  }
}

/** Installs or upgrades graphile-worker's own schema (`graphile_worker`). Idempotent. */
export async function migrateGraphileWorker(connectionString: string, logger: Logger): Promise<void> {
  const pool = queuePool(connectionString, 1, logger);
  try {
    await runMigrations({ pgPool: pool, logger: graphileLogger(logger) });
  } finally {
    await pool.end();
  }
}

/** A pool whose idle and checked-out connections have error handlers: a dropped connection is logged, never a crash. */
function queuePool(connectionString: string, max: number, logger: Logger): pg.Pool {
  const pool = new pg.Pool({ connectionString, max });
  const onError = (err: Error): void => logger.warn({ err: err.message }, 'a work-queue database connection failed; it is replaced on next use');
  pool.on('error', onError);
  pool.on('connect', (client) => client.on('error', onError));
  return pool;
}

function graphileLogger(logger: Logger): GraphileLogger {
  const log = logger.child({ component: 'graphile-worker' });
  return new GraphileLogger(() => (level: LogLevel, message: string) => {
    if (level === 'error') log.error(message);
    else if (level === 'warning') log.warn(message);
    else log.debug(message);
  });
}
