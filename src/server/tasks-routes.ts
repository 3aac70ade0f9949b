import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { Store } from '../store/index.js';
import { ApiError } from '../tasks/errors.js';
import { createTask, repoNameSchema, validationMessage } from '../tasks/create-task.js';
import { isTaskStatus, TASK_STATUSES, type TaskStatus } from '../tasks/states.js';
import type { Task } from '../tasks/task.js';
import { cancelTask } from '../orchestrator/cancel.js';
import { sendTaskInput } from '../tasks/task-input.js';
import type { TaskSignals } from '../tasks/signals.js';
import type { TaskChannel } from '../orchestrator/task-channel.js';
import { eventJson, taskJson } from './serialize.js';
import type { TaskEventStreams } from './events-stream.js';

export interface TasksRoutesDeps {
  store: Store;
  signals: TaskSignals;
  /** Told about a cancel of a task no runner holds (e.g. a queued Linear task). */
  channel?: TaskChannel;
  /** Serves `Accept: text/event-stream` on a task's events. */
  streams: TaskEventStreams;
}

const listQuery = z.object({
  status: z
    .string()
    .optional()
    .transform((s, ctx) => {
      if (!s) return undefined;
      const parts = s.split(',').map((p) => p.trim().toUpperCase());
      const bad = parts.filter((p) => !isTaskStatus(p));
      if (bad.length) {
        ctx.addIssue({ code: 'custom', message: `unknown status ${bad.join(', ')}; one of ${TASK_STATUSES.join(', ')}` });
        return z.NEVER;
      }
      return parts as TaskStatus[];
    }),
  repo: repoNameSchema.optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().regex(/^[0-9A-Z]{26}$/, 'cursor must be a task id from next_cursor').optional(),
});

const inputBody = z.strictObject({ text: z.string() });

const eventsQuery = z.object({
  after: z.coerce.number().int().min(0).default(0),
  limit: z.coerce.number().int().min(1).max(1000).default(500),
});

/** The CLI marks its requests; the marker only picks the label between the two REST clients. */
const CLIENT_HEADER = 'x-bgagent-client';

function restSource(req: FastifyRequest): 'api' | 'cli' {
  return req.headers[CLIENT_HEADER] === 'cli' ? 'cli' : 'api';
}

function parse<T extends z.ZodTypeAny>(schema: T, value: unknown): z.infer<T> {
  const result = schema.safeParse(value);
  if (!result.success) throw new ApiError('VALIDATION_ERROR', validationMessage(result.error));
  return result.data;
}

export async function tasksRoutes(app: FastifyInstance, deps: TasksRoutesDeps): Promise<void> {
  const { store, signals, channel, streams } = deps;

  // The access hook has read the task and checked that it is the caller's (or the caller is an admin).
  const owner = { config: { access: 'owner' } } as const;
  const ownedTask = (req: FastifyRequest): Task => req.ownedTask!;

  app.post('/tasks', { config: { access: 'user' }, bodyLimit: 256 * 1024 }, async (req, reply) => {
    const keyHeader = req.headers['idempotency-key'];
    const idempotencyKey = Array.isArray(keyHeader) ? keyHeader[0] : keyHeader;
    const { task, replay } = await createTask(
      { store, onCreated: (t) => signals.wake(t.userId) },
      req.user,
      req.body ?? {},
      { idempotencyKey, origin: { source: restSource(req) } },
    );
    if (replay) reply.header('Idempotent-Replay', 'true');
    return reply.status(replay ? 200 : 201).send({ task: taskJson(task) });
  });

  app.get('/tasks', { config: { access: 'user' } }, async (req) => {
    const q = parse(listQuery, req.query);
    const tasks = await store.tasks.list({
      status: q.status,
      repo: q.repo,
      userId: req.user.isAdmin ? undefined : req.user.id,
      before: q.cursor,
      limit: q.limit + 1,
    });
    const page = tasks.slice(0, q.limit);
    return { tasks: page.map(taskJson), next_cursor: tasks.length > q.limit ? page[page.length - 1]!.id : null };
  });

  app.get<{ Params: { id: string } }>('/tasks/:id', owner, async (req) => ({ task: taskJson(ownedTask(req)) }));

  app.get<{ Params: { id: string } }>('/tasks/:id/events', owner, async (req, reply) => {
    const task = ownedTask(req);
    const q = parse(eventsQuery, req.query);
    if ((req.headers.accept ?? '').includes('text/event-stream')) {
      const lastId = Number(req.headers['last-event-id']);
      return streams.serve(req, reply, task.id, Number.isFinite(lastId) && lastId > 0 ? lastId : q.after);
    }
    const events = await store.tasks.listEvents(task.id, q.after, q.limit);
    return {
      events: events.map(eventJson),
      next_after: events.length ? events[events.length - 1]!.id : q.after,
      status: (await store.tasks.get(task.id))!.status,
    };
  });

  // A follow-up for the running agent, the answer to its question, or (after the end) a continuation.
  app.post<{ Params: { id: string } }>('/tasks/:id/input', { ...owner, bodyLimit: 64 * 1024 }, async (req, reply) => {
    const body = parse(inputBody, req.body ?? {});
    const { kind, task } = await sendTaskInput({ store, signals, onTaskCreated: (t) => signals.wake(t.userId) }, req.params.id, { text: body.text, author: req.user.name });
    return reply.status(kind === 'continued' ? 201 : 200).send({ outcome: kind, task: taskJson(task) });
  });

  app.delete<{ Params: { id: string } }>('/tasks/:id', owner, async (req) => {
    return { task: taskJson(await cancelTask(store, signals, req.params.id, req.user, channel)) };
  });
}
