import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Store } from '../store/index.js';
import { isTerminal } from '../tasks/states.js';
import type { TaskSignals } from '../orchestrator/signals.js';
import { eventJson } from './serialize.js';

const POLL_MS = 1000;
const KEEPALIVE_MS = 15_000;

/**
 * Server-sent events for one task: every event after `after`, then new ones as they are written, until
 * the task is terminal (then an `end` event) or the client goes away. Wakes on a local signal and polls
 * the database, so events written by a worker in another process arrive too.
 */
export async function streamTaskEvents(
  req: FastifyRequest,
  reply: FastifyReply,
  opts: { store: Store; signals: TaskSignals; taskId: string; after: number },
): Promise<void> {
  const { store, signals, taskId } = opts;
  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
    'x-request-id': req.id,
  });
  let closed = false;
  let wake: (() => void) | undefined;
  const off = signals.onChanged(taskId, () => wake?.());
  req.raw.on('close', () => {
    closed = true;
    wake?.();
  });
  let lastWrite = Date.now();
  let after = opts.after;
  try {
    while (!closed) {
      const events = await store.tasks.listEvents(taskId, after, 500);
      for (const e of events) {
        res.write(`id: ${e.id}\nevent: task_event\ndata: ${JSON.stringify(eventJson(e))}\n\n`);
        after = e.id;
        lastWrite = Date.now();
      }
      if (events.length === 500) continue;
      const task = await store.tasks.get(taskId);
      if (!task || isTerminal(task.status)) {
        const more = await store.tasks.listEvents(taskId, after, 1);
        if (more.length) continue;
        res.write(`event: end\ndata: ${JSON.stringify({ status: task?.status ?? null })}\n\n`);
        break;
      }
      if (Date.now() - lastWrite > KEEPALIVE_MS) {
        res.write(': keep-alive\n\n');
        lastWrite = Date.now();
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, POLL_MS);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wake = undefined;
    }
  } catch (err) {
    req.log.warn({ err }, 'event stream ended with an error');
  } finally {
    off();
    res.end();
  }
}
