import { sql, type Transaction } from 'kysely';
import { monotonicFactory } from 'ulid';
import { z } from 'zod';
import type { Store } from '../store/index.js';
import type { TransitionOptions } from '../store/tasks.js';
import type { Database } from '../store/schema.js';
import type { TaskInputKind } from '../store/task-inputs.js';
import type { TaskSignals } from './signals.js';
import { harnessTakesInput } from '../agent/harnesses.js';
import { ApiError } from './errors.js';
import { newTaskRow, validationMessage } from './create-task.js';
import { isTerminal } from './states.js';
import type { Task } from './task.js';

export interface TaskInputDeps {
  store: Store;
  signals: TaskSignals;
  /** Called after a continuation task is persisted, so a worker can admit it. */
  onTaskCreated(task: Task): void;
}

export type TaskInputOutcome =
  /** Stored for the running (or about to run) agent: it gets it at its next turn. */
  | 'delivered'
  /** The answer to the agent's question: the task resumes. */
  | 'answered'
  /** The task had ended: a new task continues it on the same branch and conversation. */
  | 'continued';

export const taskInputSchema = z.strictObject({
  text: z.string().trim().min(1, 'text must not be empty').max(50_000, 'text must be at most 50,000 characters'),
  author: z.string().trim().min(1, 'author must not be empty').max(200),
});

const nextId = monotonicFactory();
const PREVIEW_CHARS = 200;
/** Messages a task's agent has not taken yet; one more follow-up is refused (each may be 50,000 characters). */
export const MAX_PENDING_INPUTS_PER_TASK = 50;

/**
 * A person's message for a task, whatever the channel (API, CLI, Linear): a follow-up for a running
 * agent, the answer to its question, or, once the task has ended, a continuation. A message for a task
 * that was already continued goes to its newest continuation.
 */
export async function sendTaskInput(
  deps: TaskInputDeps,
  taskId: string,
  input: { text: string; author: string },
): Promise<{ kind: TaskInputOutcome; task: Task }> {
  const parsed = taskInputSchema.safeParse(input);
  if (!parsed.success) throw new ApiError('VALIDATION_ERROR', validationMessage(parsed.error));
  const { text, author } = parsed.data;
  const { store, signals } = deps;

  const first = await store.tasks.get(taskId);
  if (!first) throw new ApiError('TASK_NOT_FOUND', `task ${taskId} not found`);
  // A task has at most one continuation (a unique index): when two messages race to continue one, the
  // loser goes round again and reaches the winner's new task.
  for (let attempt = 0; ; attempt++) {
    let task = first;
    for (let next = await store.tasks.latestContinuation(task.id); next; next = await store.tasks.latestContinuation(next.id)) task = next;

    const repo = await store.repos.get(task.repo);
    if (repo && !harnessTakesInput(repo.agent)) {
      throw new ApiError(
        'CONFLICT',
        `task ${task.id} runs the "${repo.agent}" agent, which cannot take follow-ups or answers; submit a new task instead`,
      );
    }

    const stored = await storeInput(store, task.id, text, author);
    if (stored) {
      signals.inputArrived(task.id);
      signals.changed(task.id);
      // An answered task waits for a worker to resume it: the wake-up reaches workers in other processes too.
      if (stored === 'answer') signals.wake(task.userId);
      return { kind: stored === 'answer' ? 'answered' : 'delivered', task: (await store.tasks.get(task.id))! };
    }
    if (!repo) throw new ApiError('REPO_NOT_ONBOARDED', `repository "${task.repo}" is no longer onboarded; the task cannot be continued`);
    try {
      const continuation = await continueTask(deps, (await store.tasks.get(task.id))!, { text, author });
      return { kind: 'continued', task: continuation! };
    } catch (err) {
      if (attempt >= 2 || !(await store.tasks.latestContinuation(task.id))) throw err;
    }
  }
}

/** Stores the message for a task that has not ended, as the answer to its question or a follow-up; undefined once it has ended. */
async function storeInput(store: Store, taskId: string, text: string, author: string): Promise<TaskInputKind | undefined> {
  return store.db.kysely.transaction().execute(async (trx) => {
    // The status read and the insert are one step: the runner cannot end the task in between unseen.
    const lock = store.db.dialect === 'postgres' ? sql`for update` : sql``;
    const row = await sql<{ status: Task['status']; user_id: string }>`select status, user_id from tasks where id = ${taskId} ${lock}`.execute(trx);
    const status = row.rows[0]?.status;
    if (!status || isTerminal(status)) return undefined;
    const kind = status === 'AWAITING_INPUT' ? 'answer' : 'follow_up';
    // An answer puts the task back in line (SUBMITTED): it counts against the user's limit like a new task.
    if (kind === 'answer') await store.tasks.refuseOverQueueLimit(trx, row.rows[0]!.user_id);
    // Counted under the same lock as the status read: two follow-ups at once cannot both pass at the limit.
    if (kind === 'follow_up') {
      const pending = await store.inputs.countPending(trx, taskId);
      if (pending >= MAX_PENDING_INPUTS_PER_TASK) {
        throw new ApiError(
          'TOO_MANY_PENDING_INPUTS',
          `task ${taskId} already has ${pending} messages its agent has not read yet (at most ${MAX_PENDING_INPUTS_PER_TASK}); send more once it has taken them (it reads them between turns), or cancel the task and submit a new one`,
        );
      }
    }
    await store.inputs.add(trx, { taskId, kind, text, author });
    if (kind === 'answer') {
      // Back to admission: a worker slot within the user's cap, then the agent resumes its conversation.
      await resumeWithAnswer(store, trx, taskId, author, text);
      return kind;
    }
    await store.tasks.appendEventWith(trx, taskId, { type: 'input_received', message: `Follow-up from ${author}: ${preview(text)}`, data: { author, kind } });
    return kind;
  });
}

/**
 * RUNNING → AWAITING_INPUT with the agent's question (`waiting`). A reply stored as a follow-up before it
 * (sent while the work was pushed, the question already on show) becomes the answer in the same step, and
 * the task goes back in line (SUBMITTED).
 *
 * That move skips BGAGENT_MAX_QUEUED_PER_USER on purpose. The task was admitted and held a worker slot up
 * to this step: it trades its place among the user's running tasks for one in line, so waiting plus running
 * tasks do not grow here (only new tasks, continuations and answers add to them, and those are checked), and
 * waiting tasks stay within the limit plus the user's concurrency cap. Refusing would leave a reply already
 * accepted ('delivered') pending behind a question its sender thinks answered, until the input timeout.
 */
export async function waitForAnswer(store: Store, taskId: string, waiting: TransitionOptions): Promise<{ task: Task; answeredEarly: boolean }> {
  return store.db.kysely.transaction().execute(async (trx) => {
    const asked = await store.tasks.transitionWith(trx, taskId, ['RUNNING'], 'AWAITING_INPUT', waiting);
    const early = await store.inputs.firstPending(trx, taskId);
    if (!early) return { task: asked, answeredEarly: false };
    return { task: await resumeWithAnswer(store, trx, taskId, early.author, early.text), answeredEarly: true };
  });
}

/** AWAITING_INPUT → SUBMITTED with the answer recorded (the runner counts the wait out of the time limit when the agent resumes). */
export async function resumeWithAnswer(store: Store, trx: Transaction<Database>, taskId: string, author: string, text: string): Promise<Task> {
  return store.tasks.transitionWith(trx, taskId, ['AWAITING_INPUT'], 'SUBMITTED', {
    event: { type: 'input_answered', message: `Answer from ${author}: ${preview(text)}`, data: { author, kind: 'answer' } },
  });
}

/**
 * A new task that goes on from an ended one: same user, repository, branch (so the push updates the same
 * pull request) and channel; its agent resumes the parent's conversation when one was saved. It carries
 * the person's new message, if any, after every message the parent's agent never worked on (see
 * `takeLeftovers`). Undefined when there is nothing to carry; throws when the parent already has a continuation.
 */
export async function continueTask(deps: TaskInputDeps, parent: Task, input?: { text: string; author: string }): Promise<Task | undefined> {
  const now = Date.now();
  const id = nextId(now);
  const firstLine = parent.taskDescription.split('\n')[0]!.slice(0, 120);
  const created = await deps.store.db.kysely.transaction().execute(async (trx) => {
    const leftovers = await deps.store.inputs.takeLeftovers(trx, parent.id, { completed: parent.status === 'COMPLETED' });
    const messages = [...leftovers, ...(input ? [input] : [])];
    if (!messages.length) return undefined;
    const text = messages.map((m) => m.text).join('\n\n');
    const authors = [...new Set(messages.map((m) => m.author))].join(', ');
    const task = await deps.store.tasks.insertWith(
      trx,
      newTaskRow({
        id,
        userId: parent.userId,
        repo: parent.repo,
        taskDescription: `${text}\n\n(Follow-up to task ${parent.id}: ${firstLine})`,
        issueRef: parent.issueRef,
        branchName: parent.branchName,
        maxTurns: parent.maxTurns,
        maxBudgetUsd: parent.maxBudgetUsd,
        idempotencyKey: null,
        channelSource: parent.channelSource,
        channelMetadata: parent.channelMetadata,
        now,
        parentTaskId: parent.id,
      }),
      {
        type: 'task_created',
        message: `Continuation of task ${parent.id} by ${authors}: ${preview(text)}`,
        data: { repo: parent.repo, source: parent.channelSource, parentTaskId: parent.id, author: authors },
      },
    );
    return { task, authors };
  });
  if (!created) return undefined;
  const { task, authors } = created;
  await deps.store.tasks.appendEvent(parent.id, {
    type: 'task_continued',
    message: `Follow-up from ${authors} continues in task ${task.id}`,
    data: { taskId: task.id, author: authors },
  });
  deps.signals.changed(parent.id);
  deps.onTaskCreated(task);
  return task;
}

function preview(text: string): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > PREVIEW_CHARS ? `${line.slice(0, PREVIEW_CHARS)}…` : line;
}
