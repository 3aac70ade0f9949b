/** Errors from bgagent's Linear client. Messages carry Linear's error text and never a token. */

export interface LinearErrorDetails {
  /** Linear's `extensions.code` (`INPUT_ERROR`, `AUTHENTICATION_ERROR`, …) or the client's own (`TIMEOUT`, `NETWORK_ERROR`, `HTTP_ERROR`, `BAD_RESPONSE`, `CIRCUIT_OPEN`). */
  code?: string;
  /** The HTTP status, when an answer came. */
  status?: number;
  operationName?: string;
  cause?: unknown;
}

/** Any failed Linear call. The subclasses say why. */
export class LinearApiError extends Error {
  readonly code: string | undefined;
  readonly status: number | undefined;
  readonly operationName: string | undefined;

  constructor(message: string, details: LinearErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'LinearApiError';
    this.code = details.code;
    this.status = details.status;
    this.operationName = details.operationName;
  }

  /** Linear answers "Entity not found: Issue" (code `INPUT_ERROR`) for an unknown id. */
  get notFound(): boolean {
    return /\bEntity not found\b/i.test(this.message);
  }
}

/** The token was refused (HTTP 401/403 or `AUTHENTICATION_ERROR`), also after one retry with a fresh token. */
export class LinearAuthError extends LinearApiError {
  constructor(message: string, details: LinearErrorDetails = {}) {
    super(message, { code: 'AUTHENTICATION_ERROR', ...details });
    this.name = 'LinearAuthError';
  }
}

/** Still rate limited after the client's retries. */
export class LinearRateLimitedError extends LinearApiError {
  /** How long Linear asked us to wait, in ms, when it said. */
  readonly retryAfterMs: number | undefined;

  constructor(message: string, details: LinearErrorDetails & { retryAfterMs?: number } = {}) {
    super(message, { code: 'RATELIMITED', ...details });
    this.name = 'LinearRateLimitedError';
    this.retryAfterMs = details.retryAfterMs;
  }
}

/** The auth circuit breaker is open: the call was not sent. */
export class LinearCircuitOpenError extends LinearApiError {
  constructor(operationName: string) {
    super(`Linear calls are suspended after repeated authentication failures (${operationName} not sent); refresh the Linear token or restart`, {
      code: 'CIRCUIT_OPEN',
      operationName,
    });
    this.name = 'LinearCircuitOpenError';
  }
}

/**
 * The workspace cannot be called at all: its OAuth app was revoked, its refresh token was refused (reinstall),
 * or it has no usable tokens. Raised before any request is sent.
 */
export class LinearWorkspaceUnavailableError extends LinearApiError {
  constructor(
    readonly workspaceId: string,
    code: 'WORKSPACE_REVOKED' | 'REINSTALL_REQUIRED' | 'TOKEN_UNAVAILABLE',
    message: string,
  ) {
    super(message, { code });
    this.name = 'LinearWorkspaceUnavailableError';
  }
}
