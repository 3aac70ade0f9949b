import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Store } from '../store/index.js';
import { TASK_STATUSES } from '../tasks/states.js';
import type { Task } from '../tasks/task.js';

/** What the orchestrator reports; optional there, so it runs without metrics. */
export interface TaskMetrics {
  /** One admission pass: tasks moved to HYDRATING, and tasks newly held back by the user's cap. */
  admissionDecided(admitted: readonly Task[], queued: readonly Task[], now: number): void;
  /** A task this worker ran reached the end of its run (read back from the database). */
  taskFinished(task: Task): void;
}

export interface MetricsOptions {
  /** Tasks by status and queue depth are counted from here at scrape time. */
  store: Store;
  /** Tasks this process holds a lease on and is running now. */
  workerLeases?: () => number;
  /** Bytes on disk under the workspaces and the mirrors; omitted (a process that runs no agent): no disk gauges. */
  diskUsage?: () => Promise<{ workspaces: number; mirrors: number }>;
  /** Node process metrics (process_*, nodejs_*); default true. */
  processMetrics?: boolean;
}

/**
 * Every bgagent metric, in one registry per instance (so apps and tests never collide). Counters and
 * histograms are recorded by the code that sees the event; gauges are read from the database or the
 * worker when Prometheus scrapes.
 */
export class Metrics implements TaskMetrics {
  readonly registry = new Registry();
  private readonly queueWait: Histogram;
  private readonly admissions: Counter<'result'>;
  private readonly rejections: Counter<'code'>;
  private readonly webhookAck: Histogram<'source'>;
  private readonly linearCalls: Counter<'operation' | 'outcome'>;
  private readonly linearCircuit: Gauge;
  private readonly agentCost: Histogram<'status'>;
  private readonly agentTurns: Histogram<'status'>;
  private readonly finished: Counter<'status'>;
  private readonly retentionDeleted: Counter<'table'>;

  constructor(opts: MetricsOptions) {
    const registers = [this.registry];
    const { store } = opts;
    new Gauge({
      name: 'bgagent_tasks',
      help: 'Tasks in the database by status (counted at scrape time)',
      labelNames: ['status'],
      registers,
      async collect() {
        const rows = await store.db.kysely
          .selectFrom('tasks')
          .select((eb) => ['status', eb.fn.countAll<number>().as('n')])
          .groupBy('status')
          .execute();
        const counts = new Map(rows.map((r) => [r.status as string, Number(r.n)]));
        for (const status of TASK_STATUSES) this.set({ status }, counts.get(status) ?? 0);
      },
    });
    new Gauge({
      name: 'bgagent_queue_depth',
      help: 'Tasks waiting for admission (SUBMITTED or QUEUED), counted at scrape time',
      registers,
      async collect() {
        const row = await store.db.kysely
          .selectFrom('tasks')
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .where('status', 'in', ['SUBMITTED', 'QUEUED'])
          .executeTakeFirstOrThrow();
        this.set(Number(row.n));
      },
    });
    const workerLeases = opts.workerLeases;
    new Gauge({
      name: 'bgagent_worker_leases',
      help: 'Tasks this process holds a lease on and is running',
      registers,
      collect() {
        this.set(workerLeases ? workerLeases() : 0);
      },
    });
    if (opts.diskUsage) diskGauges(registers, reuseFor(DISK_USAGE_TTL_MS, opts.diskUsage));
    this.queueWait = new Histogram({
      name: 'bgagent_queue_wait_seconds',
      help: 'Time from task creation to admission',
      buckets: [0.05, 0.25, 1, 5, 15, 60, 300, 900, 3600, 4 * 3600, 24 * 3600],
      registers,
    });
    this.admissions = new Counter({
      name: 'bgagent_admissions_total',
      help: 'Admission decisions: admitted (a slot was free) or queued (the user cap was reached)',
      labelNames: ['result'],
      registers,
    });
    this.rejections = new Counter({
      name: 'bgagent_task_rejections_total',
      help: 'Task submissions refused, by error code',
      labelNames: ['code'],
      registers,
    });
    this.webhookAck = new Histogram({
      name: 'bgagent_webhook_ack_seconds',
      help: 'Time from receiving a webhook to acknowledging it (after the durable write)',
      labelNames: ['source'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    });
    this.linearCalls = new Counter({
      name: 'bgagent_linear_calls_total',
      help: 'Calls to the Linear API by operation and outcome',
      labelNames: ['operation', 'outcome'],
      registers,
    });
    this.linearCircuit = new Gauge({
      name: 'bgagent_linear_circuit_open',
      help: '1 when the Linear authentication circuit breaker is open (calls short-circuited), else 0',
      registers,
    });
    this.linearCircuit.set(0);
    this.agentCost = new Histogram({
      name: 'bgagent_agent_cost_usd',
      help: 'Agent cost per finished task, by final status',
      labelNames: ['status'],
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 25, 50],
      registers,
    });
    this.agentTurns = new Histogram({
      name: 'bgagent_agent_turns',
      help: 'Agent turns per finished task, by final status',
      labelNames: ['status'],
      buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500],
      registers,
    });
    this.finished = new Counter({
      name: 'bgagent_tasks_finished_total',
      help: 'Tasks this process ran to the end of their run, by final status',
      labelNames: ['status'],
      registers,
    });
    this.retentionDeleted = new Counter({
      name: 'bgagent_retention_deleted_rows_total',
      help: 'Rows the retention job deleted (BGAGENT_RETENTION_DAYS), by table',
      labelNames: ['table'],
      registers,
    });
    if (opts.processMetrics !== false) collectDefaultMetrics({ register: this.registry });
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** The Prometheus text exposition. Rejects when a scrape-time query fails. */
  render(): Promise<string> {
    return this.registry.metrics();
  }

  admissionDecided(admitted: readonly Task[], queued: readonly Task[], now: number): void {
    for (const task of admitted) this.queueWait.observe(Math.max(0, now - task.createdAt) / 1000);
    if (admitted.length) this.admissions.inc({ result: 'admitted' }, admitted.length);
    if (queued.length) this.admissions.inc({ result: 'queued' }, queued.length);
  }

  taskFinished(task: Task): void {
    this.finished.inc({ status: task.status });
    if (task.costUsd !== null) this.agentCost.observe({ status: task.status }, task.costUsd);
    if (task.turns !== null) this.agentTurns.observe({ status: task.status }, task.turns);
  }

  recordTaskRejected(code: string): void {
    this.rejections.inc({ code });
  }

  recordRetentionDeleted(table: string, rows: number): void {
    this.retentionDeleted.inc({ table }, rows);
  }

  /** `source`: the webhook's origin, e.g. "linear" or "generic". */
  recordWebhookAck(source: string, seconds: number): void {
    this.webhookAck.observe({ source }, seconds);
  }

  /** `operation`: the GraphQL operation name; `outcome`: e.g. ok, error, rate_limited, auth_failed, short_circuited. */
  recordLinearCall(operation: string, outcome: string): void {
    this.linearCalls.inc({ operation, outcome });
  }

  setLinearCircuitState(open: boolean): void {
    this.linearCircuit.set(open ? 1 : 0);
  }
}

/** How long one walk of the data dir serves scrapes: a walk of many workspaces is too slow for every scrape. */
const DISK_USAGE_TTL_MS = 30_000;

function diskGauges(registers: Registry[], usage: () => Promise<{ workspaces: number; mirrors: number }>): void {
  new Gauge({
    name: 'bgagent_workspaces_disk_bytes',
    help: "Bytes on disk under the data dir's workspaces (task checkouts), walked at scrape time at most every 30 s",
    registers,
    async collect() {
      this.set((await usage()).workspaces);
    },
  });
  new Gauge({
    name: 'bgagent_mirrors_disk_bytes',
    help: "Bytes on disk under the data dir's mirrors (one bare repository per repo), walked at scrape time at most every 30 s",
    registers,
    async collect() {
      this.set((await usage()).mirrors);
    },
  });
}

/** One computation shared by every caller for `ttlMs`; a failed one is not kept. */
function reuseFor<T>(ttlMs: number, compute: () => Promise<T>): () => Promise<T> {
  let last: { at: number; value: Promise<T> } | undefined;
  return () => {
    if (!last || Date.now() - last.at > ttlMs) {
      const value = compute();
      last = { at: Date.now(), value };
      value.catch(() => {
        if (last?.value === value) last = undefined;
      });
    }
    return last.value;
  };
}
