import { hostname } from 'node:os';
import { ulid } from 'ulid';
import type { Logger } from '../log.js';
import type { Store } from '../store/index.js';
import type { Task } from '../tasks/task.js';
import { isTerminal } from '../tasks/states.js';
import { admitUserTasks } from './admission.js';
import { recoverTasks } from './recovery.js';
import { sweepWorkspaces } from './workspace-sweep.js';
import { TaskRunner, type RunnerDeps } from './runner.js';
import type { TaskSignals } from '../tasks/signals.js';
import type { TaskMetrics } from '../metrics/metrics.js';
import { EmbeddedWorkQueue } from '../queue/embedded-queue.js';
import type { WorkQueue } from '../queue/work-queue.js';
import { LEASED_STATUSES } from '../tasks/states.js';
import type { TaskChannel } from './task-channel.js';

export interface OrchestratorOptions extends Omit<RunnerDeps, 'workerId' | 'signals'> {
  signals: TaskSignals;
  /** Where wake-ups come from; default: this process's signals (the embedded queue). */
  queue?: WorkQueue;
  /** Agents this worker runs at once. */
  concurrency: number;
  maxConcurrentPerUser: number;
  queueMaxAgeMs: number;
  /** How long a task waits for an answer to its agent's question. Default 24 h. */
  inputTimeoutMs?: number;
  /** How often to look for orphaned, aged-out and waiting tasks. */
  tickMs?: number;
  metrics?: TaskMetrics;
  /** Tells the task's channel (e.g. the Linear issue) what admission decided. */
  channel?: TaskChannel;
}

/**
 * The worker: admits waiting tasks, runs them with leases, and recovers what other (or earlier) workers
 * left behind. Wake-ups make it fast; the periodic tick makes it correct when a wake-up is missed.
 */
export class Orchestrator {
  readonly workerId = `${hostname()}-${process.pid}-${ulid().slice(-6)}`;
  private readonly runner: TaskRunner;
  private readonly running = new Map<string, Promise<void>>();
  private readonly pendingUsers = new Set<string>();
  private admitting: Promise<void> | undefined;
  private tick: NodeJS.Timeout | undefined;
  private readonly queue: WorkQueue;
  private stopping = false;
  private readonly now: () => number;

  constructor(private readonly opts: OrchestratorOptions) {
    this.now = opts.now ?? Date.now;
    this.queue = opts.queue ?? new EmbeddedWorkQueue(opts.signals);
    this.runner = new TaskRunner({ ...opts, workerId: this.workerId });
  }

  get log(): Logger {
    return this.opts.logger;
  }

  get runningCount(): number {
    return this.running.size;
  }

  /** Started and not stopping: taking work. */
  get isRunning(): boolean {
    return this.tick !== undefined && !this.stopping;
  }

  async start(): Promise<void> {
    await this.queue.start((userId) => this.wake(userId));
    await this.recover();
    // After the first recovery, which ends the tasks a crash left running here.
    await sweepWorkspaces(this.opts.store, this.opts.workspaces, this.log);
    this.tick = setInterval(() => {
      this.recover().catch((err: unknown) => this.log.error({ err }, 'recovery sweep failed'));
    }, this.opts.tickMs ?? 1000);
    this.tick.unref();
  }

  /** A user's waiting tasks may be admitted. */
  wake(userId: string): void {
    if (this.stopping) return;
    this.pendingUsers.add(userId);
    this.admitting ??= this.drainAdmissions().finally(() => {
      this.admitting = undefined;
      if (this.pendingUsers.size && !this.stopping) this.wake([...this.pendingUsers][0]!);
    });
  }

  private async drainAdmissions(): Promise<void> {
    while (this.pendingUsers.size && !this.stopping) {
      const userId = [...this.pendingUsers][0]!;
      this.pendingUsers.delete(userId);
      const capacity = this.opts.concurrency - this.running.size;
      if (capacity <= 0) return;
      try {
        const { admitted, queued } = await admitUserTasks(this.opts.store, {
          userId,
          workerId: this.workerId,
          leaseMs: this.opts.leaseMs,
          defaultCap: this.opts.maxConcurrentPerUser,
          capacity,
          now: this.now(),
        });
        this.opts.metrics?.admissionDecided(admitted, queued, this.now());
        for (const task of queued) this.opts.channel?.queued(task);
        for (const task of [...admitted, ...queued]) this.opts.signals.changed(task.id);
        for (const task of admitted) this.launch(task);
      } catch (err) {
        this.log.error({ err, userId }, 'admission failed; it will be retried');
      }
    }
  }

  private launch(task: Task): void {
    const run = this.runner
      .run(task)
      .catch((err: unknown) => this.log.error({ err, taskId: task.id }, 'task runner crashed'))
      .finally(() => {
        // An answered task can be resumed here while this run is still winding down: keep the new run's entry.
        if (this.running.get(task.id) === run) this.running.delete(task.id);
        if (this.opts.metrics) void this.observeFinished(task.id, this.opts.metrics);
        if (!this.stopping) void this.wakeWaitingUsers();
      });
    this.running.set(task.id, run);
  }

  private async observeFinished(taskId: string, metrics: TaskMetrics): Promise<void> {
    const task = await this.opts.store.tasks.get(taskId).catch(() => undefined);
    if (task && isTerminal(task.status)) metrics.taskFinished(task);
  }

  private async wakeWaitingUsers(): Promise<void> {
    const waiting = await this.opts.store.tasks.listByStatus(['SUBMITTED', 'QUEUED']).catch(() => []);
    for (const userId of new Set(waiting.map((t) => t.userId))) this.wake(userId);
  }

  private async recover(): Promise<void> {
    if (this.stopping) return;
    const { resume, wakeUsers, finished } = await recoverTasks(
      this.opts.store,
      {
        workerId: this.workerId,
        leaseMs: this.opts.leaseMs,
        taskTimeoutMs: this.opts.taskTimeoutMs,
        queueMaxAgeMs: this.opts.queueMaxAgeMs,
        inputTimeoutMs: this.opts.inputTimeoutMs ?? 24 * 60 * 60 * 1000,
        now: this.now(),
        foreignLeasesAreOrphaned: this.opts.store.db.dialect === 'sqlite',
        runningHere: new Set(this.running.keys()),
      },
      this.log,
    );
    for (const task of finished) {
      this.opts.channel?.finished?.(task);
      // A no-op unless the worker that lost the task shared this data dir.
      await this.opts.workspaces.removeTask(task.id).catch((err: unknown) => this.log.warn({ err, taskId: task.id }, 'could not remove the workspace'));
    }
    for (const task of resume) {
      this.opts.signals.changed(task.id);
      this.launch(task);
    }
    for (const userId of wakeUsers) this.wake(userId);
  }

  /** Stop taking work; let running agents finish up to `graceMs`, then stop them and release their leases. */
  async stop(graceMs = 10_000): Promise<void> {
    this.stopping = true;
    if (this.tick) clearInterval(this.tick);
    await this.queue.stop().catch((err: unknown) => this.log.warn({ err }, 'could not stop receiving wake-ups'));
    await this.admitting;
    const all = Promise.allSettled([...this.running.values()]);
    const timedOut = await Promise.race([all.then(() => false), delay(graceMs).then(() => true)]);
    if (timedOut) {
      const interrupted = [...this.running.keys()];
      this.log.warn({ tasks: interrupted, graceMs }, 'grace period over: stopping the agents still running and releasing their leases');
      for (const taskId of interrupted) this.opts.signals.cancelled(taskId);
      await all;
      await this.releaseLeases(interrupted);
    }
  }

  /** Lets another worker take these tasks over at once instead of after the lease expires. */
  private async releaseLeases(taskIds: string[]): Promise<void> {
    const now = this.now();
    for (const taskId of taskIds) {
      const released = await this.opts.store.tasks
        .update(taskId, LEASED_STATUSES, { lease_expires_at: now - 1 }, this.workerId)
        .catch((err: unknown) => this.log.warn({ err, taskId }, 'could not release the lease; it will expire'));
      if (released) {
        await this.opts.store.tasks
          .appendEvent(taskId, { type: 'lease_released', message: `Worker ${this.workerId} shut down; another worker takes the task over`, data: { worker: this.workerId } })
          .catch(() => undefined);
      }
    }
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms).unref());
}
