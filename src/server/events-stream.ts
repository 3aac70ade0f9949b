import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from '../log.js';
import type { Store } from '../store/index.js';
import { ApiError } from '../tasks/errors.js';
import { isTerminal } from '../tasks/states.js';
import type { TaskSignals } from '../tasks/signals.js';
import { CredentialWatch } from './credential-watch.js';
import { TaskEventFeed } from './event-feed.js';
import { eventJson } from './serialize.js';

const PAGE = 500;

export interface EventStreamLimits {
  /** Open streams per user in this process (BGAGENT_MAX_STREAMS_PER_USER); one more is refused with 429. */
  maxPerUser: number;
  /** How often open streams' tokens and sessions are checked again (all together, see ./credential-watch.ts). */
  recheckMs: number;
  /** The shared feed's database poll. */
  pollMs: number;
  keepAliveMs: number;
}

export const DEFAULT_STREAM_LIMITS: EventStreamLimits = { maxPerUser: 20, recheckMs: 10_000, pollMs: 1000, keepAliveMs: 15_000 };

/**
 * Server-sent events for tasks: every event after `after`, then new ones as they are written, until the
 * task is terminal (an `end` event), the request's credential no longer holds (a `closed` event: the token
 * was revoked or the session ended), the server closes or the client goes away. Streams are woken by one
 * shared feed (see ./event-feed.ts) and read their task's events only when woken.
 */
export class TaskEventStreams {
  private readonly feed: TaskEventFeed;
  private readonly credentials: CredentialWatch;
  private readonly openPerUser = new Map<string, number>();
  private readonly stops = new Set<() => void>();
  private readonly limits: EventStreamLimits;

  constructor(private readonly deps: { store: Store; signals: TaskSignals; logger: Logger; limits?: Partial<EventStreamLimits> }) {
    this.limits = { ...DEFAULT_STREAM_LIMITS, ...deps.limits };
    this.feed = new TaskEventFeed({ store: deps.store, signals: deps.signals, logger: deps.logger, pollMs: this.limits.pollMs });
    this.credentials = new CredentialWatch({ store: deps.store, logger: deps.logger, intervalMs: this.limits.recheckMs });
  }

  /** Ends every open stream and the feed (the server is closing). */
  close(): void {
    for (const stop of [...this.stops]) stop();
    this.feed.close();
    this.credentials.close();
  }

  async serve(req: FastifyRequest, reply: FastifyReply, taskId: string, after: number): Promise<void> {
    const userId = req.user.id;
    const open = this.openPerUser.get(userId) ?? 0;
    if (open >= this.limits.maxPerUser) {
      throw new ApiError('RATE_LIMIT_EXCEEDED', `at most ${this.limits.maxPerUser} event streams may be open per user (BGAGENT_MAX_STREAMS_PER_USER); close one first`);
    }
    this.openPerUser.set(userId, open + 1);
    try {
      await this.run(req, reply, taskId, after);
    } finally {
      const left = (this.openPerUser.get(userId) ?? 1) - 1;
      if (left > 0) this.openPerUser.set(userId, left);
      else this.openPerUser.delete(userId);
    }
  }

  private async run(req: FastifyRequest, reply: FastifyReply, taskId: string, after: number): Promise<void> {
    const { store } = this.deps;
    const { keepAliveMs } = this.limits;
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
      'x-request-id': req.id,
    });
    let closed = false;
    let credentialEnded = false;
    let woken = true; // the first pass reads what is there
    let resolveWait: (() => void) | undefined;
    const wake = () => {
      woken = true;
      resolveWait?.();
    };
    const stop = () => {
      closed = true;
      resolveWait?.();
    };
    const unwatch = this.feed.watch(taskId, wake);
    const unwatchCredential = this.credentials.watch(req.credential, () => {
      credentialEnded = true;
      stop();
    });
    this.stops.add(stop);
    req.raw.on('close', stop);
    let lastWrite = Date.now();
    const send = (event: string, data: unknown, id?: number) => {
      res.write(`${id === undefined ? '' : `id: ${id}\n`}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
      lastWrite = Date.now();
    };
    try {
      while (!closed) {
        if (woken) {
          woken = false;
          const events = await store.tasks.listEvents(taskId, after, PAGE);
          // Ended (e.g. the credential) while reading: nothing more goes out.
          if (closed) break;
          for (const e of events) {
            send('task_event', eventJson(e), e.id);
            after = e.id;
          }
          if (events.length === PAGE) {
            woken = true;
            continue;
          }
          const task = await store.tasks.get(taskId);
          if (!task || isTerminal(task.status)) {
            // Events written just before the final status are read first.
            if ((await store.tasks.listEvents(taskId, after, 1)).length) {
              woken = true;
              continue;
            }
            send('end', { status: task?.status ?? null });
            break;
          }
        }
        if (Date.now() - lastWrite >= keepAliveMs) {
          res.write(': keep-alive\n\n');
          lastWrite = Date.now();
        }
        if (woken || closed) continue;
        const waitMs = Math.max(0, keepAliveMs - (Date.now() - lastWrite));
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, waitMs);
          resolveWait = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        resolveWait = undefined;
      }
      if (credentialEnded) {
        const what = req.credential.kind === 'token' ? 'the API token was revoked' : 'the session ended (signed out, expired or its token was revoked)';
        send('closed', { reason: 'UNAUTHORIZED', message: `${what}; sign in again` });
      }
    } catch (err) {
      req.log.warn({ err }, 'event stream ended with an error');
    } finally {
      unwatch();
      unwatchCredential();
      this.stops.delete(stop);
      res.end();
    }
  }
}
