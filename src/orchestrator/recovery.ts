import type { Store } from '../store/index.js';
import { LEASED_STATUSES } from '../tasks/states.js';
import type { Task } from '../tasks/task.js';
import { TransitionConflictError } from '../tasks/errors.js';
import type { Logger } from '../log.js';

export interface RecoveryOptions {
  workerId: string;
  leaseMs: number;
  taskTimeoutMs: number;
  queueMaxAgeMs: number;
  inputTimeoutMs: number;
  now: number;
  /** On SQLite only one serving process exists, so any lease held by another worker id is orphaned. */
  foreignLeasesAreOrphaned: boolean;
  /** Tasks this process is running right now (never taken over). */
  runningHere: ReadonlySet<string>;
}

export interface RecoveryResult {
  /** Tasks whose lease this worker took over and that should be run again from their current step. */
  resume: Task[];
  /** Users whose waiting tasks may now be admitted. */
  wakeUsers: string[];
  /** Tasks this sweep ended (WORKER_LOST, TIMED_OUT, QUEUE_TIMEOUT), for their channel. */
  finished: Task[];
}

/**
 * Finds tasks nobody is driving any more and drives them on: an expired lease is taken over (HYDRATING
 * and FINALIZING resume; RUNNING fails with WORKER_LOST, or TIMED_OUT past its deadline); a task queued
 * past the maximum age fails with QUEUE_TIMEOUT. Never leaves a task running forever.
 */
export async function recoverTasks(store: Store, opts: RecoveryOptions, log: Logger): Promise<RecoveryResult> {
  const resume: Task[] = [];
  const finished: Task[] = [];
  const wakeUsers = new Set<string>();

  for (const task of await store.tasks.listByStatus(LEASED_STATUSES)) {
    if (opts.runningHere.has(task.id)) continue;
    const expired = (task.leaseExpiresAt ?? 0) < opts.now;
    const orphaned = opts.foreignLeasesAreOrphaned && task.leaseOwner !== opts.workerId;
    if (!expired && !orphaned) continue;
    const taken = await store.tasks.update(
      task.id,
      [task.status],
      { lease_owner: opts.workerId, lease_expires_at: opts.now + opts.leaseMs, attempt: task.attempt + 1 },
      task.leaseOwner ?? undefined,
    );
    if (!taken) continue;
    const previous = task.leaseOwner ?? 'unknown';
    try {
      if (task.status === 'RUNNING') {
        const pastDeadline = task.startedAt !== null && task.startedAt + task.inputWaitMs + opts.taskTimeoutMs < opts.now;
        if (pastDeadline) {
          finished.push(await store.tasks.transition(task.id, ['RUNNING'], 'TIMED_OUT', {
            leaseOwner: opts.workerId,
            patch: { finished_at: opts.now, error_code: 'TIMED_OUT', error_message: 'the task ran past its time limit while its worker was gone' },
            event: { type: 'task_timed_out', message: 'The task ran past its time limit while its worker was gone' },
          }));
        } else {
          finished.push(await store.tasks.transition(task.id, ['RUNNING'], 'FAILED', {
            leaseOwner: opts.workerId,
            patch: {
              finished_at: opts.now,
              error_code: 'WORKER_LOST',
              error_message: 'the worker running the agent stopped (crash or restart) and the agent step cannot be resumed; re-submit the task',
            },
            event: { type: 'task_failed', message: 'Failed: the worker running the agent stopped; re-submit the task', data: { code: 'WORKER_LOST', previousWorker: previous } },
          }));
        }
        wakeUsers.add(task.userId);
      } else {
        await store.tasks.appendEvent(task.id, {
          type: 'task_recovered',
          message: `Resuming ${task.status.toLowerCase()} after worker ${previous} stopped`,
          data: { previousWorker: previous, attempt: task.attempt + 1 },
        });
        resume.push((await store.tasks.get(task.id))!);
      }
    } catch (err) {
      if (!(err instanceof TransitionConflictError)) throw err;
    }
  }

  for (const task of await store.tasks.listByStatus(['QUEUED'])) {
    if (task.queuedAt !== null && task.queuedAt + opts.queueMaxAgeMs < opts.now) {
      try {
        finished.push(await store.tasks.transition(task.id, ['QUEUED'], 'FAILED', {
          patch: { finished_at: opts.now, error_code: 'QUEUE_TIMEOUT', error_message: 'the task waited too long for a free concurrency slot' },
          event: { type: 'task_failed', message: 'Failed: waited too long for a free concurrency slot', data: { code: 'QUEUE_TIMEOUT' } },
        }));
      } catch (err) {
        if (!(err instanceof TransitionConflictError)) throw err;
      }
    }
  }

  for (const task of await store.tasks.listByStatus(['AWAITING_INPUT'])) {
    if (task.questionAskedAt === null || task.questionAskedAt + opts.inputTimeoutMs >= opts.now) continue;
    const waited = formatDuration(opts.inputTimeoutMs);
    try {
      finished.push(await store.tasks.transition(task.id, ['AWAITING_INPUT'], 'FAILED', {
        patch: {
          finished_at: opts.now,
          error_code: 'INPUT_TIMED_OUT',
          error_message: `nobody answered the agent's question within ${waited}; reply to go on from where it stopped (a new task continues it), or re-submit`,
        },
        event: { type: 'task_failed', message: `Failed: no answer to the agent's question within ${waited}`, data: { code: 'INPUT_TIMED_OUT' } },
      }));
    } catch (err) {
      if (!(err instanceof TransitionConflictError)) throw err;
    }
  }

  for (const task of await store.tasks.listByStatus(['SUBMITTED', 'QUEUED'])) wakeUsers.add(task.userId);
  if (resume.length) log.info({ tasks: resume.map((t) => t.id) }, 'resuming tasks whose worker stopped');
  return { resume, wakeUsers: [...wakeUsers], finished };
}

function formatDuration(ms: number): string {
  if (ms >= 3_600_000) return `${+(ms / 3_600_000).toFixed(1)} h`;
  if (ms >= 60_000) return `${Math.round(ms / 60_000)} min`;
  return `${Math.round(ms / 1000)} s`;
}
