import { monotonicFactory } from 'ulid';
import { z } from 'zod';
import type { Insertable } from 'kysely';
import type { Store } from '../store/index.js';
import type { TasksTable } from '../store/schema.js';
import { ApiError } from './errors.js';
import { taskBranchName } from './branch.js';
import type { ChannelSource, Task, User } from './task.js';

export const REPO_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}(\/[A-Za-z0-9._-]{1,100})?$/;

export const repoNameSchema = z
  .string()
  .regex(REPO_NAME_PATTERN, 'repo must be a name like "demo" or "owner/name" (letters, digits, . _ -)');

export const createTaskSchema = z.strictObject({
  repo: repoNameSchema,
  task: z.string().trim().min(1, 'task must not be empty').max(50_000, 'task must be at most 50,000 characters'),
  issue: z.union([z.string().trim().min(1).max(200), z.number().int().positive()]).optional(),
  max_turns: z.number().int().min(1).max(1000).optional(),
  max_budget_usd: z.number().positive().max(10_000).optional(),
});

export type CreateTaskInput = z.infer<typeof createTaskSchema>;

export interface CreateTaskDeps {
  store: Store;
  now?: () => number;
  /** Called after a new task is persisted, so a worker can admit it. */
  onCreated?: (task: Task) => void;
}

/** Where a task came from: set by the channel's own code, never taken from a request body. */
export interface TaskOrigin {
  source: ChannelSource;
  metadata?: Record<string, unknown>;
}

export interface CreateTaskResult {
  task: Task;
  /** True when an earlier request with the same Idempotency-Key created the task. */
  replay: boolean;
}

const nextId = monotonicFactory();

/** Turns a zod failure into the one-line validation message clients see. */
export function validationMessage(error: z.ZodError): string {
  return error.issues
    .map((i) => (i.path.length ? `${i.path.join('.')}: ${i.message}` : i.message))
    .join('; ');
}

/**
 * The one way a task comes into being, whatever the channel: validate, check the repo is onboarded,
 * honour the idempotency key, persist SUBMITTED with its first event.
 */
export async function createTask(
  deps: CreateTaskDeps,
  user: User,
  body: unknown,
  opts: { idempotencyKey?: string | undefined; origin?: TaskOrigin } = {},
): Promise<CreateTaskResult> {
  const parsed = createTaskSchema.safeParse(body);
  if (!parsed.success) throw new ApiError('VALIDATION_ERROR', validationMessage(parsed.error));
  const input = parsed.data;
  const key = opts.idempotencyKey;
  if (key !== undefined && (key.length === 0 || key.length > 200)) {
    throw new ApiError('VALIDATION_ERROR', 'Idempotency-Key must be 1 to 200 characters');
  }

  if (key) {
    const existing = await replayOf(deps.store, user, key);
    if (existing) return { task: existing, replay: true };
  }

  const repo = await deps.store.repos.get(input.repo);
  if (!repo) {
    throw new ApiError('REPO_NOT_ONBOARDED', `repository "${input.repo}" is not onboarded; add it with: bgagent repo add ${input.repo} --url <clone-url>`);
  }

  const now = (deps.now ?? Date.now)();
  const id = nextId(now);
  const source = opts.origin?.source ?? 'api';
  try {
    const task = await deps.store.tasks.insert(
      newTaskRow({
        id,
        userId: user.id,
        repo: repo.name,
        taskDescription: input.task,
        issueRef: input.issue === undefined ? null : String(input.issue),
        branchName: taskBranchName(id, input.task),
        maxTurns: input.max_turns ?? null,
        maxBudgetUsd: input.max_budget_usd ?? null,
        idempotencyKey: key ?? null,
        channelSource: source,
        channelMetadata: opts.origin?.metadata ?? {},
        now,
      }),
      { type: 'task_created', message: `Task created by ${user.name} via ${source} for ${repo.name}`, data: { repo: repo.name, source } },
    );
    deps.onCreated?.(task);
    return { task, replay: false };
  } catch (err) {
    // Two requests with one key raced: the unique index let exactly one insert through.
    if (key) {
      const existing = await replayOf(deps.store, user, key);
      if (existing) return { task: existing, replay: true };
    }
    throw err;
  }
}

async function replayOf(store: Store, user: User, key: string): Promise<Task | undefined> {
  const existing = await store.tasks.findByIdempotencyKey(key);
  if (existing && existing.userId !== user.id) {
    throw new ApiError('DUPLICATE_TASK', 'this Idempotency-Key was already used by another user');
  }
  return existing;
}

/** A new task's row: SUBMITTED, with nothing run, spent or decided yet. */
export function newTaskRow(t: {
  id: string;
  userId: string;
  repo: string;
  taskDescription: string;
  issueRef: string | null;
  branchName: string;
  maxTurns: number | null;
  maxBudgetUsd: number | null;
  idempotencyKey: string | null;
  channelSource: string;
  channelMetadata: Record<string, unknown>;
  now: number;
  parentTaskId?: string;
}): Insertable<TasksTable> {
  return {
    id: t.id,
    user_id: t.userId,
    repo: t.repo,
    task_description: t.taskDescription,
    issue_ref: t.issueRef,
    status: 'SUBMITTED',
    branch_name: t.branchName,
    pr_url: null,
    pr_number: null,
    max_turns: t.maxTurns,
    max_budget_usd: t.maxBudgetUsd,
    idempotency_key: t.idempotencyKey,
    channel_source: t.channelSource,
    channel_metadata: JSON.stringify(t.channelMetadata),
    error_code: null,
    error_message: null,
    outcome: null,
    summary: null,
    cost_usd: null,
    turns: null,
    linear_calls: 0,
    attempt: 0,
    lease_owner: null,
    lease_expires_at: null,
    cancelled_by: null,
    created_at: t.now,
    queued_at: null,
    started_at: null,
    heartbeat_at: null,
    finished_at: null,
    updated_at: t.now,
    parent_task_id: t.parentTaskId ?? null,
  };
}
