import { silentLogger, type Logger } from '../log.js';
import type { LinearDocument } from './documents.js';
import { LinearApiError, LinearAuthError, LinearCircuitOpenError, LinearRateLimitedError } from './errors.js';

export const DEFAULT_LINEAR_API_URL = 'https://api.linear.app/graphql';

/** What one HTTP attempt came to; `circuit_open` means nothing was sent. */
export type LinearCallOutcome = 'ok' | 'graphql_error' | 'auth_error' | 'rate_limited' | 'server_error' | 'timeout' | 'network_error' | 'circuit_open';

export interface LinearClientOptions {
  /** The GraphQL endpoint (`LINEAR_API_URL`). Default `https://api.linear.app/graphql`. */
  apiUrl?: string;
  /** The current token, from the credential resolver. Called before every attempt. */
  getToken: () => Promise<string>;
  /** `apiKey` (default): the token is the raw `Authorization` value, as Linear takes personal keys; `oauth`: `Bearer <token>`. */
  tokenType?: 'apiKey' | 'oauth';
  /** Drop the cached token so the next `getToken()` fetches a fresh one. Called on an authentication failure. */
  invalidateToken?: () => void;
  logger?: Logger;
  /** Per attempt. Default 5000. */
  timeoutMs?: number;
  /** Retries for 5xx, network errors, timeouts (queries only) and rate limits. Default 3. */
  maxRetries?: number;
  /** First backoff delay; doubles per retry, with jitter. Default 250. */
  retryBaseDelayMs?: number;
  /** Backoff ceiling. Default 5000. */
  maxRetryDelayMs?: number;
  /** Ceiling on one rate-limit wait, however long Linear asks for. Default 60000. */
  maxRateLimitWaitMs?: number;
  /** Consecutive authentication failures that open the circuit. Default 3. */
  authFailureThreshold?: number;
  fetchImpl?: typeof fetch;
  /** For tests: how to wait (default setTimeout) and what time it is (default Date.now). */
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
  random?: () => number;
  /** After every HTTP attempt (and every short-circuited call), for metrics and per-task call counts. */
  onCall?: (operationName: string, outcome: LinearCallOutcome) => void;
}

type Attempt =
  | { kind: 'ok'; data: unknown }
  | { kind: 'graphql_error'; error: LinearApiError }
  | { kind: 'auth_error'; error: LinearAuthError }
  | { kind: 'rate_limited'; error: LinearRateLimitedError; waitMs: number | undefined }
  | { kind: 'server_error' | 'timeout' | 'network_error'; error: LinearApiError };

interface GraphQLErrorBody {
  message?: string;
  extensions?: { code?: string; type?: string; userPresentableMessage?: string };
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * The one way bgagent talks to Linear: typed documents over fetch, a timeout per attempt, retries with
 * backoff, rate-limit waits, and an auth circuit breaker that stops a revoked token from flooding the
 * logs and Linear's quota. Never logs the token.
 */
export class LinearClient {
  private readonly apiUrl: string;
  private readonly opts: LinearClientOptions;
  private readonly logger: Logger;
  private readonly fetchImpl: typeof fetch;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly now: () => number;
  private readonly random: () => number;
  private consecutiveAuthFailures = 0;
  private open = false;
  /**
   * Bumped on every counted auth failure. A failure from an older generation reports a token already known
   * to be bad (another call in flight counted it and asked for a fresh one), so it is not counted again.
   */
  private tokenGeneration = 0;

  constructor(opts: LinearClientOptions) {
    this.opts = opts;
    this.apiUrl = opts.apiUrl ?? DEFAULT_LINEAR_API_URL;
    this.logger = opts.logger ?? silentLogger;
    this.fetchImpl = opts.fetchImpl ?? fetch;
    this.sleep = opts.sleep ?? defaultSleep;
    this.now = opts.now ?? Date.now;
    this.random = opts.random ?? Math.random;
  }

  /** True while calls are short-circuited after repeated authentication failures. */
  get circuitOpen(): boolean {
    return this.open;
  }

  /** Close the circuit, e.g. after a successful token refresh. */
  resetCircuit(): void {
    if (this.open) this.logger.info('Linear auth circuit closed; calls resume');
    this.open = false;
    this.consecutiveAuthFailures = 0;
  }

  async request<TResult, TVariables>(document: LinearDocument<TResult, TVariables>, variables: TVariables): Promise<TResult> {
    const op = document.operationName;
    const isMutation = /^\s*mutation\b/.test(document.query);
    let retries = 0;
    let authRetried = false;
    for (;;) {
      if (this.open) {
        this.logger.debug({ operationName: op }, 'Linear call skipped: auth circuit open');
        this.opts.onCall?.(op, 'circuit_open');
        throw new LinearCircuitOpenError(op);
      }
      const generation = this.tokenGeneration;
      const token = await this.token(op);
      const attempt = await this.attempt(document, variables, token);
      this.opts.onCall?.(op, attempt.kind);

      switch (attempt.kind) {
        case 'ok':
          this.consecutiveAuthFailures = 0;
          return attempt.data as TResult;
        case 'graphql_error':
          // The token was accepted; the request itself was refused. Not worth retrying.
          this.consecutiveAuthFailures = 0;
          throw attempt.error;
        case 'auth_error':
          this.recordAuthFailure(op, generation);
          if (this.open || authRetried) throw attempt.error;
          authRetried = true;
          continue;
        case 'rate_limited': {
          if (retries >= this.maxRetries) throw attempt.error;
          const waitMs = Math.min(Math.max(attempt.waitMs ?? this.backoff(retries), 0), this.opts.maxRateLimitWaitMs ?? 60_000);
          this.logger.warn({ operationName: op, waitMs, retry: retries + 1 }, 'Linear rate limit reached; waiting before retrying');
          await this.sleep(waitMs);
          retries += 1;
          continue;
        }
        default: {
          // A mutation that timed out may have been applied; sending it again could post twice.
          const retriable = !(attempt.kind === 'timeout' && isMutation);
          if (!retriable || retries >= this.maxRetries) throw attempt.error;
          const delayMs = this.backoff(retries);
          this.logger.warn({ operationName: op, outcome: attempt.kind, status: attempt.error.status, delayMs, retry: retries + 1 }, 'Linear call failed; retrying');
          await this.sleep(delayMs);
          retries += 1;
        }
      }
    }
  }

  private get maxRetries(): number {
    return this.opts.maxRetries ?? 3;
  }

  private async token(op: string): Promise<string> {
    let token: string;
    try {
      token = await this.opts.getToken();
    } catch (err) {
      // The token source already says why (e.g. the workspace was revoked): keep its code and message.
      if (err instanceof LinearApiError) throw err;
      throw new LinearApiError(`Linear token unavailable: ${(err as Error)?.message ?? String(err)}`, { code: 'TOKEN_UNAVAILABLE', operationName: op, cause: err });
    }
    if (this.opts.tokenType === 'oauth' && !/^Bearer\s/i.test(token)) return `Bearer ${token}`;
    return token;
  }

  private recordAuthFailure(op: string, generation: number): void {
    if (generation !== this.tokenGeneration || this.open) return;
    this.tokenGeneration += 1;
    this.consecutiveAuthFailures += 1;
    this.opts.invalidateToken?.();
    const threshold = this.opts.authFailureThreshold ?? 3;
    if (this.consecutiveAuthFailures >= threshold) {
      this.open = true;
      this.logger.error(
        { operationName: op, consecutiveFailures: this.consecutiveAuthFailures },
        'Linear rejected the token repeatedly; suspending Linear calls until the token is refreshed or bgagent restarts',
      );
    }
  }

  /** Exponential backoff with jitter: base·2^n, between half and all of it, capped. */
  private backoff(retry: number): number {
    const base = this.opts.retryBaseDelayMs ?? 250;
    const ceiling = Math.min(base * 2 ** retry, this.opts.maxRetryDelayMs ?? 5000);
    return Math.round(ceiling / 2 + (this.random() * ceiling) / 2);
  }

  private async attempt(document: LinearDocument<unknown, unknown>, variables: unknown, authorization: string): Promise<Attempt> {
    const op = document.operationName;
    let status: number;
    let headers: Headers;
    let text: string;
    try {
      const res = await this.fetchImpl(this.apiUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json', authorization, 'user-agent': 'bgagent' },
        body: JSON.stringify({ query: document.query, variables, operationName: op }),
        signal: AbortSignal.timeout(this.opts.timeoutMs ?? 5000),
      });
      status = res.status;
      headers = res.headers;
      text = await res.text();
    } catch (err) {
      const name = (err as Error)?.name;
      if (name === 'TimeoutError' || name === 'AbortError') {
        return { kind: 'timeout', error: new LinearApiError(`Linear ${op} timed out`, { code: 'TIMEOUT', operationName: op, cause: err }) };
      }
      const cause = (err as { cause?: { code?: string; message?: string } })?.cause;
      const reason = cause?.code ?? cause?.message ?? (err as Error)?.message ?? 'network error';
      return { kind: 'network_error', error: new LinearApiError(`Linear ${op} failed: ${reason}`, { code: 'NETWORK_ERROR', operationName: op, cause: err }) };
    }

    let body: { data?: unknown; errors?: GraphQLErrorBody[] } | undefined;
    try {
      body = JSON.parse(text) as typeof body;
    } catch {
      body = undefined;
    }
    const errors = Array.isArray(body?.errors) ? body.errors : [];
    const first = errors[0];
    const linearMessage = first?.extensions?.userPresentableMessage ?? first?.message;
    const details = { status, operationName: op };

    if (status === 401 || status === 403 || errors.some((e) => e.extensions?.code === 'AUTHENTICATION_ERROR' || e.extensions?.type === 'authentication error')) {
      return { kind: 'auth_error', error: new LinearAuthError(`Linear refused the token for ${op} (HTTP ${status})${linearMessage ? `: ${linearMessage}` : ''}`, details) };
    }
    if (status === 429 || errors.some((e) => e.extensions?.code === 'RATELIMITED' || e.extensions?.type === 'ratelimited')) {
      const waitMs = this.rateLimitWait(headers);
      return { kind: 'rate_limited', waitMs, error: new LinearRateLimitedError(`Linear rate limit reached for ${op}`, { ...details, retryAfterMs: waitMs }) };
    }
    if (status >= 500) {
      return { kind: 'server_error', error: new LinearApiError(`Linear ${op} failed: HTTP ${status}`, { ...details, code: 'HTTP_ERROR' }) };
    }
    if (first) {
      return { kind: 'graphql_error', error: new LinearApiError(`Linear ${op} failed: ${first.message ?? 'unknown error'}`, { ...details, code: first.extensions?.code }) };
    }
    if (status < 200 || status >= 300) {
      return { kind: 'graphql_error', error: new LinearApiError(`Linear ${op} failed: HTTP ${status}`, { ...details, code: 'HTTP_ERROR' }) };
    }
    if (body?.data == null) {
      return { kind: 'graphql_error', error: new LinearApiError(`Linear ${op} returned no data`, { ...details, code: 'BAD_RESPONSE' }) };
    }
    return { kind: 'ok', data: body.data };
  }

  /** `Retry-After` (seconds or an HTTP date), else `X-RateLimit-Requests-Reset` / `-Complexity-Reset` (epoch ms). */
  private rateLimitWait(headers: Headers): number | undefined {
    const retryAfter = headers.get('retry-after');
    if (retryAfter) {
      const seconds = Number(retryAfter);
      if (Number.isFinite(seconds)) return seconds * 1000;
      const date = Date.parse(retryAfter);
      if (Number.isFinite(date)) return date - this.now();
    }
    for (const name of ['x-ratelimit-requests-reset', 'x-ratelimit-complexity-reset']) {
      const value = Number(headers.get(name) ?? NaN);
      if (Number.isFinite(value) && value > 0) {
        // Linear sends epoch milliseconds; accept epoch seconds too.
        const resetAt = value < 1e11 ? value * 1000 : value;
        return resetAt - this.now();
      }
    }
    return undefined;
  }
}
