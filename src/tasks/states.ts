/**
 * The task state machine (DESIGN.md, "The task"). Every status change goes through `canTransition`
 * and is written conditionally ("from X to Y"), so a stale writer gets a conflict, never an overwrite.
 */
export const TASK_STATUSES = [
  'SUBMITTED',
  'QUEUED',
  'HYDRATING',
  'RUNNING',
  'AWAITING_INPUT',
  'FINALIZING',
  'COMPLETED',
  'FAILED',
  'CANCELLED',
  'TIMED_OUT',
] as const;

export type TaskStatus = (typeof TASK_STATUSES)[number];

const TRANSITIONS: Record<TaskStatus, readonly TaskStatus[]> = {
  SUBMITTED: ['QUEUED', 'HYDRATING', 'FAILED', 'CANCELLED'],
  QUEUED: ['SUBMITTED', 'CANCELLED', 'FAILED'],
  HYDRATING: ['RUNNING', 'FAILED', 'CANCELLED'],
  RUNNING: ['AWAITING_INPUT', 'FINALIZING', 'FAILED', 'CANCELLED', 'TIMED_OUT'],
  // Answered: back to SUBMITTED, so admission gives it a worker slot within the user's cap like any task.
  AWAITING_INPUT: ['SUBMITTED', 'RUNNING', 'CANCELLED', 'FAILED'],
  FINALIZING: ['COMPLETED', 'FAILED', 'TIMED_OUT'],
  COMPLETED: [],
  FAILED: [],
  CANCELLED: [],
  TIMED_OUT: [],
};

export const TERMINAL_STATUSES: readonly TaskStatus[] = ['COMPLETED', 'FAILED', 'CANCELLED', 'TIMED_OUT'];

/**
 * Statuses in which a worker holds a lease and a process works on the task; each holds one of the user's
 * concurrency slots (a task waiting for an answer holds neither).
 */
export const LEASED_STATUSES: readonly TaskStatus[] = ['HYDRATING', 'RUNNING', 'FINALIZING'];

export function isTerminal(status: TaskStatus): boolean {
  return TERMINAL_STATUSES.includes(status);
}

export function canTransition(from: TaskStatus, to: TaskStatus): boolean {
  return TRANSITIONS[from].includes(to);
}

/** The statuses a task may be in for a change to `to` to be allowed. */
export function sourcesOf(to: TaskStatus): TaskStatus[] {
  return TASK_STATUSES.filter((from) => canTransition(from, to));
}

export function isTaskStatus(value: string): value is TaskStatus {
  return (TASK_STATUSES as readonly string[]).includes(value);
}
