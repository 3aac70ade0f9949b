/**
 * Errors that cross the API boundary carry a stable code and HTTP status (DESIGN.md, error envelope).
 * Everything else thrown inside bgagent is an internal error and reaches the client as INTERNAL_ERROR.
 */
export const ERROR_STATUS = {
  VALIDATION_ERROR: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  TASK_NOT_FOUND: 404,
  NOT_FOUND: 404,
  DUPLICATE_TASK: 409,
  TASK_ALREADY_TERMINAL: 409,
  TASK_NOT_CANCELLABLE: 409,
  CONFLICT: 409,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  REPO_NOT_ONBOARDED: 422,
  REPO_NOT_FOUND_OR_NO_ACCESS: 422,
  RATE_LIMIT_EXCEEDED: 429,
  /** The user already has BGAGENT_MAX_QUEUED_PER_USER tasks waiting to start. */
  TOO_MANY_QUEUED_TASKS: 429,
  /** The task already has MAX_PENDING_INPUTS_PER_TASK messages its agent has not taken yet. */
  TOO_MANY_PENDING_INPUTS: 429,
  INTERNAL_ERROR: 500,
  SERVICE_UNAVAILABLE: 503,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

export class ApiError extends Error {
  override name = 'ApiError';
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
  }
  get status(): number {
    return ERROR_STATUS[this.code];
  }
}

/** A conditional write found the row no longer in the expected state. */
export class TransitionConflictError extends Error {
  override name = 'TransitionConflictError';
  constructor(
    readonly taskId: string,
    readonly from: readonly string[],
    readonly to: string,
  ) {
    super(`task ${taskId} is no longer in ${from.join('|')}; cannot move it to ${to}`);
  }
}

export function toError(value: unknown): Error {
  return value instanceof Error ? value : new Error(String(value));
}
