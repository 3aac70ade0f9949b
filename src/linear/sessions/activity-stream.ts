import type { Logger } from '../../log.js';
import type { Store } from '../../store/index.js';
import { createAgentActivity } from '../api.js';
import type { LinearClients } from '../clients.js';
import type { AgentActivityContent } from '../documents.js';
import { unsent } from '../lifecycle.js';

/**
 * How an activity may be coalesced before it is sent:
 * - `transient`: an in-progress sign (a tool running, a line of output); any later activity supersedes it.
 * - `step`: something done (a tool's result, a progress note, the PR); kept, but folded into its neighbour of
 *   the same `fold` category when the backlog is long.
 * - `final`: the last word (response, error, question); never dropped or folded.
 */
export type ActivityKind = 'transient' | 'step' | 'final';

export interface SessionActivity {
  kind: ActivityKind;
  content: AgentActivityContent;
  ephemeral?: boolean;
  /** Steps of one category fold together: tool results into one action, notes into one thought. */
  fold?: { category: 'tool' | 'note'; text: string; result?: string };
  /** The task whose `linear_calls` the call counts against. */
  taskId?: string;
}

export interface SessionRef {
  id: string;
  workspaceId: string | undefined;
}

export interface ActivityStreamsOptions {
  store: Store;
  clients: LinearClients;
  logger: Logger;
  /** Least time between two activities of one session. Default 1000 ms. */
  intervalMs?: number;
  /** Steps waiting beyond this are folded together. Default 5. */
  maxBacklog?: number;
}

interface Stream {
  session: SessionRef;
  queue: SessionActivity[];
  /** The content last posted here, so the same sign twice in a row is said once. */
  last: string | undefined;
  lastSentAt: number;
  pump: Promise<void> | undefined;
}

const FOLD_TEXT_CHARS = 500;

/** The workspace has no usable client (not set up, OAuth not wired): nothing was sent. */
class NoClient extends Error {}
const RESULT_CHARS = 300;

/**
 * One ordered, rate-bounded outbox of activities per agent session. `post` returns at once (the agent never
 * waits for Linear); a session's activities go out one at a time, at most one per interval, in order, with
 * superseded in-progress signs dropped and a long backlog of steps folded, so a long run never floods Linear.
 * When Linear cannot be reached (circuit open, no token) activities are skipped quietly, like the lifecycle.
 */
export class ActivityStreams {
  private readonly streams = new Map<string, Stream>();
  private readonly intervalMs: number;
  private readonly maxBacklog: number;
  private quiet = false;

  constructor(private readonly opts: ActivityStreamsOptions) {
    this.intervalMs = opts.intervalMs ?? 1000;
    this.maxBacklog = opts.maxBacklog ?? 5;
  }

  post(session: SessionRef, activity: SessionActivity): void {
    let stream = this.streams.get(session.id);
    if (!stream) {
      stream = { session, queue: [], last: undefined, lastSentAt: 0, pump: undefined };
      this.streams.set(session.id, stream);
    }
    const content = JSON.stringify(activity.content);
    if (activity.kind === 'transient' && content === stream.last) return;
    stream.last = content;
    enqueue(stream.queue, activity, this.maxBacklog);
    stream.pump ??= this.pump(stream);
  }

  /** Resolves when every activity already posted was sent or skipped. */
  async drain(): Promise<void> {
    while ([...this.streams.values()].some((s) => s.pump)) await Promise.allSettled([...this.streams.values()].map((s) => s.pump));
  }

  private async pump(stream: Stream): Promise<void> {
    try {
      while (stream.queue.length) {
        const wait = stream.lastSentAt + this.intervalMs - Date.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        const next = stream.queue.shift();
        if (!next) break;
        await this.send(stream.session, next);
        stream.lastSentAt = Date.now();
        // After its last word a session is forgotten here; a continuation opens it again.
        if (next.kind === 'final' && !stream.queue.length) this.streams.delete(stream.session.id);
      }
    } finally {
      stream.pump = undefined;
      if (stream.queue.length) stream.pump = this.pump(stream);
    }
  }

  private async send(session: SessionRef, activity: SessionActivity): Promise<void> {
    const log = this.opts.logger.child({ agentSessionId: session.id, taskId: activity.taskId });
    let counted = false;
    try {
      const client = await this.opts.clients.forWorkspace(session.workspaceId).catch((err: unknown) => {
        throw new NoClient(`no Linear client: ${(err as Error)?.message ?? String(err)}`);
      });
      if (client.circuitOpen) return this.unreachable(log, 'the Linear auth circuit is open');
      await createAgentActivity(client, { agentSessionId: session.id, content: activity.content, ...(activity.ephemeral ? { ephemeral: true } : {}) });
      counted = true;
      this.reachable();
    } catch (err) {
      if (err instanceof NoClient || unsent(err)) return this.unreachable(log, (err as Error).message);
      counted = true;
      log.warn({ err, type: activity.content.type }, 'could not post an activity to the Linear agent session');
    } finally {
      if (counted && activity.taskId) await this.opts.store.tasks.incrementLinearCalls(activity.taskId, 1).catch((err: unknown) => log.warn({ err }, 'could not count a Linear call'));
    }
  }

  private unreachable(log: Logger, reason: string): void {
    if (this.quiet) return;
    this.quiet = true;
    log.warn({ reason }, 'Linear is unreachable; agent session activities are skipped until it answers again');
  }

  private reachable(): void {
    if (!this.quiet) return;
    this.quiet = false;
    this.opts.logger.info('Linear answers again; agent session activities resume');
  }
}

/** Adds `activity` to a session's waiting activities, dropping superseded in-progress signs and folding a long backlog. */
export function enqueue(queue: SessionActivity[], activity: SessionActivity, maxBacklog: number): void {
  for (let i = queue.length - 1; i >= 0; i--) if (queue[i]!.kind === 'transient') queue.splice(i, 1);
  if (activity.kind === 'final') {
    foldAll(queue);
    queue.push(activity);
    return;
  }
  const last = queue.at(-1);
  if (activity.kind === 'step' && queue.length >= maxBacklog && last?.fold && activity.fold && last.fold.category === activity.fold.category) {
    queue[queue.length - 1] = fold(last, activity);
    return;
  }
  queue.push(activity);
}

/** Folds each run of same-category steps into one, so what waits before a final activity is short. */
function foldAll(queue: SessionActivity[]): void {
  for (let i = queue.length - 1; i > 0; i--) {
    const a = queue[i - 1]!;
    const b = queue[i]!;
    if (a.fold && b.fold && a.fold.category === b.fold.category) queue.splice(i - 1, 2, fold(a, b));
  }
}

function fold(a: SessionActivity, b: SessionActivity): SessionActivity {
  const category = a.fold!.category;
  const text = clip(`${a.fold!.text}${category === 'tool' ? ' · ' : '\n'}${b.fold!.text}`, FOLD_TEXT_CHARS);
  const result = b.fold!.result ?? a.fold!.result;
  const content: AgentActivityContent =
    category === 'tool' ? { type: 'action', action: 'Worked through', parameter: text, ...(result ? { result: clip(result, RESULT_CHARS) } : {}) } : { type: 'thought', body: text };
  return { kind: 'step', content, fold: { category, text, ...(result ? { result } : {}) }, taskId: b.taskId ?? a.taskId };
}

function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}
