import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { execute, getOperationAST, parse, validate, type DocumentNode, type GraphQLError } from 'graphql';
import { createRootValue, fieldResolver, typeResolver, type EmulatorContext } from './resolvers.js';
import { linearSchema } from './schema.js';
import { LinearEmulatorState, type SeededWorkspace } from './state.js';
import { EmulatedOAuth } from './oauth.js';

/**
 * A Linear GraphQL API emulator for tests: every request is parsed and validated against Linear's real
 * schema (`schema.graphql`, MIT) and executed over in-memory state, with Linear's authentication, rate
 * limit and error shapes. It records every call and can be told to fail. Test support only.
 */

export { DEFAULT_API_KEY, LinearEmulatorState } from './state.js';
export type * from './state.js';
export type { EmOAuthApp, EmulatedOAuthCall } from './oauth.js';

export type EmulatedFailure =
  /** An HTTP error status (default 503) with a plain-text body. */
  | { kind: 'http'; status?: number; body?: string }
  /** No answer at all: the request hangs until the client gives up (or the emulator closes). */
  | { kind: 'timeout' }
  /** The connection is dropped without an answer. */
  | { kind: 'network' }
  /** Linear's answer to a revoked or unknown token: HTTP 401, `AUTHENTICATION_ERROR`. */
  | { kind: 'auth' }
  /**
   * Linear's rate-limit answer: HTTP 400 (as Linear sends it; 429 if `status` says so), a GraphQL error with
   * `extensions.code: 'RATELIMITED'`, `X-RateLimit-Requests-*` headers (reset in epoch ms) and optionally `Retry-After`.
   */
  | { kind: 'ratelimited'; resetInMs?: number; retryAfterSeconds?: number; status?: number };

export interface FailureOptions {
  /** How many calls fail (default 1), or `'always'` until `clearFailures()`. */
  times?: number | 'always';
  /** Only calls with this operation name fail (and count). */
  operationName?: string;
}

export interface EmulatedCall {
  operationName: string | null;
  query: string;
  variables: Record<string, unknown>;
  /** Epoch ms when the request arrived. */
  at: number;
  /** The HTTP status sent; 0 when no answer was sent (timeout, dropped connection). */
  status: number;
  /** The injected failure this call got, if any. */
  failure?: EmulatedFailure['kind'];
  /** The authenticated user, when the request got that far. */
  viewerId?: string;
}

export interface LinearEmulatorOptions {
  /** Seed one organization, a viewer with `DEFAULT_API_KEY`, team ENG with its states and a `bgagent` label. Default true. */
  seed?: boolean;
  /** Requests allowed per rate-limit window, reported in `X-RateLimit-Requests-Limit`. Default 5000. */
  requestsLimit?: number;
}

export interface LinearEmulator {
  /** The GraphQL endpoint (`LINEAR_API_URL`). */
  url: string;
  /** `LINEAR_OAUTH_AUTHORIZE_URL` and `LINEAR_OAUTH_TOKEN_URL`. */
  authorizeUrl: string;
  tokenUrl: string;
  /** OAuth apps, codes and tokens; its `calls` record every authorize and token request. */
  oauth: EmulatedOAuth;
  state: LinearEmulatorState;
  /** The seeded workspace (undefined when `seed: false`). */
  seeded: SeededWorkspace | undefined;
  /** Every request, in arrival order. */
  calls: EmulatedCall[];
  /** The calls for one operation name. */
  callsTo(operationName: string): EmulatedCall[];
  failNext(failure: EmulatedFailure, opts?: FailureOptions): void;
  clearFailures(): void;
  /** Delay every answer by this many ms (0 to stop). */
  setLatency(ms: number): void;
  close(): Promise<void>;
}

interface QueuedFailure {
  failure: EmulatedFailure;
  remaining: number;
  operationName?: string;
}

const RATE_WINDOW_MS = 60 * 60 * 1000;

export const AUTHENTICATION_ERROR_BODY = {
  errors: [
    {
      message: 'Authentication required, not authenticated',
      extensions: {
        type: 'authentication error',
        code: 'AUTHENTICATION_ERROR',
        statusCode: 401,
        userError: true,
        userPresentableMessage: 'You need to authenticate to access this operation.',
        meta: {},
        http: { status: 401 },
      },
    },
  ],
};

const RATELIMITED_BODY = {
  errors: [
    {
      message: 'Rate limit exceeded',
      extensions: {
        type: 'ratelimited',
        code: 'RATELIMITED',
        statusCode: 400,
        userError: true,
        userPresentableMessage: 'Too many requests. Please try again later.',
        meta: {},
        http: { status: 400 },
      },
    },
  ],
};

export async function startLinearEmulator(opts: LinearEmulatorOptions = {}): Promise<LinearEmulator> {
  const schema = linearSchema();
  const state = new LinearEmulatorState();
  const seeded = opts.seed === false ? undefined : state.seedDefaultWorkspace();
  const rootValue = createRootValue(state);
  const oauth = new EmulatedOAuth(state);
  const calls: EmulatedCall[] = [];
  const failures: QueuedFailure[] = [];
  const hanging = new Set<ServerResponse>();
  const requestsLimit = opts.requestsLimit ?? 5000;
  let latencyMs = 0;
  let windowStart = Date.now();
  let requestsInWindow = 0;

  const takeFailure = (operationName: string | null): EmulatedFailure | undefined => {
    const i = failures.findIndex((f) => !f.operationName || f.operationName === operationName);
    if (i < 0) return undefined;
    const f = failures[i]!;
    f.remaining -= 1;
    if (f.remaining <= 0) failures.splice(i, 1);
    return f.failure;
  };

  const rateHeaders = (remaining: number, resetAt: number): Record<string, string> => ({
    'x-ratelimit-requests-limit': String(requestsLimit),
    'x-ratelimit-requests-remaining': String(Math.max(0, remaining)),
    'x-ratelimit-requests-reset': String(resetAt),
  });

  const send = (res: ServerResponse, call: EmulatedCall, status: number, body: unknown, headers: Record<string, string> = {}) => {
    call.status = status;
    const text = typeof body === 'string' ? body : JSON.stringify(body);
    res.writeHead(status, { 'content-type': typeof body === 'string' ? 'text/plain' : 'application/json; charset=utf-8', ...headers });
    res.end(text);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const at = Date.now();
    const raw = await readBody(req);
    if (await oauth.handle(req, res, raw)) return;
    let body: { query?: unknown; variables?: unknown; operationName?: unknown } = {};
    let bodyError: string | undefined;
    try {
      body = JSON.parse(raw || '{}') as typeof body;
    } catch (err) {
      bodyError = (err as Error).message;
    }
    const query = typeof body.query === 'string' ? body.query : '';
    const variables = body.variables && typeof body.variables === 'object' ? (body.variables as Record<string, unknown>) : {};
    let document: DocumentNode | undefined;
    let parseError: GraphQLError | undefined;
    try {
      if (query) document = parse(query);
    } catch (err) {
      parseError = err as GraphQLError;
    }
    const requested = typeof body.operationName === 'string' ? body.operationName : null;
    const operationName = requested ?? (document ? (getOperationAST(document)?.name?.value ?? null) : null);
    const call: EmulatedCall = { operationName, query, variables, at, status: 0 };
    calls.push(call);

    if (latencyMs > 0) await new Promise((r) => setTimeout(r, latencyMs));

    if (at - windowStart >= RATE_WINDOW_MS) {
      windowStart = at;
      requestsInWindow = 0;
    }
    requestsInWindow += 1;
    const resetAt = windowStart + RATE_WINDOW_MS;

    const failure = takeFailure(operationName);
    if (failure) {
      call.failure = failure.kind;
      switch (failure.kind) {
        case 'http':
          return send(res, call, failure.status ?? 503, failure.body ?? 'Service Unavailable');
        case 'timeout':
          hanging.add(res);
          res.on('close', () => hanging.delete(res));
          return;
        case 'network':
          req.socket.destroy();
          return;
        case 'auth':
          return send(res, call, 401, AUTHENTICATION_ERROR_BODY);
        case 'ratelimited': {
          const headers = rateHeaders(0, Date.now() + (failure.resetInMs ?? 1000));
          if (failure.retryAfterSeconds !== undefined) headers['retry-after'] = String(failure.retryAfterSeconds);
          return send(res, call, failure.status ?? 400, RATELIMITED_BODY, headers);
        }
      }
    }

    const headers = rateHeaders(requestsLimit - requestsInWindow, resetAt);
    if (req.method !== 'POST') return send(res, call, 405, { errors: [{ message: 'Only POST is supported', extensions: { code: 'BAD_REQUEST' } }] }, headers);
    oauth.dropExpired();
    const viewer = state.authenticate(req.headers.authorization);
    if (!viewer) return send(res, call, 401, AUTHENTICATION_ERROR_BODY, headers);
    call.viewerId = viewer.id;

    if (bodyError || !query) {
      return send(res, call, 400, { errors: [{ message: bodyError ? `Invalid JSON body: ${bodyError}` : 'Must provide query string.', extensions: { type: 'graphql error', code: 'BAD_REQUEST' } }] }, headers);
    }
    if (parseError || !document) {
      return send(res, call, 400, { errors: [{ message: parseError?.message ?? 'Syntax error', extensions: { type: 'graphql error', code: 'GRAPHQL_PARSE_FAILED' } }] }, headers);
    }
    const validationErrors = validate(schema, document);
    if (validationErrors.length > 0) {
      return send(
        res,
        call,
        400,
        { errors: validationErrors.map((e) => ({ message: e.message, locations: e.locations, extensions: { type: 'graphql error', code: 'GRAPHQL_VALIDATION_FAILED' } })) },
        headers,
      );
    }
    const contextValue: EmulatorContext = { viewer };
    const result = await execute({ schema, document, rootValue, contextValue, variableValues: variables, operationName: requested, fieldResolver, typeResolver });
    return send(res, call, 200, result, headers);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(`emulator error: ${(err as Error).message}`);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}/graphql`,
    authorizeUrl: `http://127.0.0.1:${port}/oauth/authorize`,
    tokenUrl: `http://127.0.0.1:${port}/oauth/token`,
    oauth,
    state,
    seeded,
    calls,
    callsTo: (name) => calls.filter((c) => c.operationName === name),
    failNext(failure, o = {}) {
      const times = o.times ?? 1;
      failures.push({ failure, remaining: times === 'always' ? Number.POSITIVE_INFINITY : times, operationName: o.operationName });
    },
    clearFailures() {
      failures.length = 0;
    },
    setLatency(ms) {
      latencyMs = ms;
    },
    async close() {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
