import type { Logger } from '../log.js';
import type { Store } from '../store/index.js';
import type { Task } from '../tasks/task.js';
import { addReaction, postComment } from './api.js';
import type { LinearClient } from './client.js';
import type { LinearClients } from './clients.js';
import { LinearApiError, LinearCircuitOpenError, LinearWorkspaceUnavailableError } from './errors.js';
import { IssueLifecycle, TaskStarted, reactionsSweep, taskFinished, type IssueLifecycleResult } from './lifecycle-documents.js';
import { lifecycleMessages } from './lifecycle-messages.js';
import { forwardMove, reviewState, startedState } from './lifecycle-states.js';

export interface LinearLifecycleDeps {
  store: Store;
  clients: LinearClients;
  logger: Logger;
  now?: () => number;
}

/** Reactions bgagent leaves, by the names Linear may report them under. */
const EYES = ['eyes', '👀'];
const OWN_MARKS = [...EYES, 'white_check_mark', '✅', 'x', '❌'];

interface Step {
  task: Task;
  issueId: string;
  client: LinearClient;
  /** bgagent's own Linear user in this workspace, when known. */
  viewerId: string | null;
  /** Sends one Linear API call, counted against the task. */
  call<T>(fn: () => Promise<T>): Promise<T>;
}

/** Linear could not be reached at all (circuit open, token unresolvable): the step is skipped. */
class LinearUnreachable extends Error {}

/**
 * What a Linear task's life looks like on its issue: 👀, a "starting" note and In Progress when it starts;
 * a comment with the pull request; at the end ✅/❌ in place of 👀, In Review on success and one summary.
 *
 * Every hook returns at once. Steps run in the background, one after another per task, each at most once
 * per task (noted in the store), and count their Linear calls on the task. No failure here reaches a task.
 */
export class LinearLifecycle {
  private readonly chains = new Map<string, Promise<void>>();
  /** The 👀 each started task added here: removed at the end even when the workspace's viewer is unknown. */
  private readonly eyes = new Map<string, string>();
  private quiet = false;
  private readonly now: () => number;

  constructor(private readonly deps: LinearLifecycleDeps) {
    this.now = deps.now ?? Date.now;
  }

  started(task: Task): void {
    this.enqueue(task, 'started', (s) => this.onStarted(s));
  }

  prCreated(task: Task, pr: { url: string; number: number }): void {
    this.enqueue(task, 'pr', (s) => s.call(() => postComment(s.client, s.issueId, lifecycleMessages.prOpened(pr))).then(() => undefined));
  }

  finished(task: Task): void {
    this.enqueue(task, 'finished', (s) => this.onFinished(s));
  }

  /** Resolves when every step already asked for has run. */
  async drain(): Promise<void> {
    while (this.chains.size) await Promise.allSettled([...this.chains.values()]);
  }

  private async onStarted(s: Step): Promise<void> {
    // 👀 first: it is the person's sign that bgagent has the issue.
    const eyes = await s.call(() => addReaction(s.client, s.issueId, 'eyes'));
    this.eyes.set(s.task.id, eyes.id);
    const { issue } = await s.call(() => s.client.request(IssueLifecycle, { id: s.issueId }));
    const target = forwardMove(issue.state, startedState(issue.team.states.nodes));
    await s.call(() =>
      s.client.request(TaskStarted, { issueId: s.issueId, body: lifecycleMessages.starting(s.task), move: target !== undefined, stateId: target?.id ?? '' }),
    );
    await this.sweep(s, issue, eyes.id);
  }

  /** Removes 👀/✅/❌ that bgagent's own user left on earlier runs (never the one just added). Never fatal. */
  private async sweep(s: Step, issue: IssueLifecycleResult['issue'], keepId: string): Promise<void> {
    if (!s.viewerId) return;
    const stale = issue.reactions.filter((r) => r.user?.id === s.viewerId && r.id !== keepId && OWN_MARKS.includes(r.emoji)).map((r) => r.id);
    if (!stale.length) return;
    const { document, variables } = reactionsSweep(stale);
    try {
      await s.call(() => s.client.request(document, variables));
    } catch (err) {
      if (err instanceof LinearUnreachable) throw err;
      this.deps.logger.warn({ err, taskId: s.task.id, issueId: s.issueId }, 'could not remove earlier bgagent reactions from the Linear issue');
    }
  }

  private async onFinished(s: Step): Promise<void> {
    const { issue } = await s.call(() => s.client.request(IssueLifecycle, { id: s.issueId }));
    const ours = this.eyes.get(s.task.id);
    this.eyes.delete(s.task.id);
    const eyes = issue.reactions
      .filter((r) => EYES.includes(r.emoji) && (s.viewerId ? r.user?.id === s.viewerId : r.id === ours))
      .map((r) => r.id);
    const success = s.task.status === 'COMPLETED';
    const target = success ? forwardMove(issue.state, reviewState(issue.team.states.nodes)) : undefined;
    const { document, removals } = taskFinished(eyes);
    await s.call(() =>
      s.client.request(document, {
        ...removals,
        issueId: s.issueId,
        emoji: success ? 'white_check_mark' : 'x',
        body: lifecycleMessages.summary(s.task, this.now()),
        move: target !== undefined,
        stateId: target?.id ?? '',
      }),
    );
  }

  private enqueue(task: Task, step: 'started' | 'pr' | 'finished', fn: (s: Step) => Promise<void>): void {
    if (task.channelSource !== 'linear' || typeof task.channelMetadata.issueId !== 'string') return;
    const issueId = task.channelMetadata.issueId;
    const previous = this.chains.get(task.id) ?? Promise.resolve();
    const next = previous.then(() => this.run(task, issueId, step, fn));
    this.chains.set(task.id, next);
    void next.finally(() => {
      if (this.chains.get(task.id) === next) this.chains.delete(task.id);
    });
  }

  private async run(task: Task, issueId: string, step: string, fn: (s: Step) => Promise<void>): Promise<void> {
    const log = this.deps.logger.child({ taskId: task.id, issueId, step });
    let counted = 0;
    try {
      if (!(await this.deps.store.linear.noteOnce(issueId, `${step}:${task.id}`))) return;
      const workspaceId = typeof task.channelMetadata.workspaceId === 'string' ? task.channelMetadata.workspaceId : undefined;
      const workspace = workspaceId ? await this.deps.store.linear.getWorkspace(workspaceId) : undefined;
      const client = await this.deps.clients.forWorkspace(workspaceId).catch((err: unknown) => {
        throw new LinearUnreachable(`no Linear client: ${(err as Error)?.message ?? String(err)}`);
      });
      const call = async <T>(send: () => Promise<T>): Promise<T> => {
        if (client.circuitOpen) throw new LinearUnreachable('the Linear auth circuit is open');
        try {
          const result = await send();
          counted += 1;
          this.reachable();
          return result;
        } catch (err) {
          if (unsent(err)) throw new LinearUnreachable((err as Error).message);
          counted += 1;
          throw err;
        }
      };
      await fn({ task, issueId, client, viewerId: workspace?.viewer_id ?? null, call });
    } catch (err) {
      if (err instanceof LinearUnreachable) this.unreachable(log, err.message);
      else log.warn({ err }, 'could not update the Linear issue');
    } finally {
      if (counted) await this.deps.store.tasks.incrementLinearCalls(task.id, counted).catch((err: unknown) => log.warn({ err }, 'could not count Linear calls'));
    }
  }

  private unreachable(log: Logger, reason: string): void {
    if (this.quiet) return;
    this.quiet = true;
    log.warn({ reason }, 'Linear is unreachable; task updates on Linear issues are skipped until it answers again');
  }

  private reachable(): void {
    if (!this.quiet) return;
    this.quiet = false;
    this.deps.logger.info('Linear answers again; task updates on Linear issues resume');
  }
}

/** Failed before any request reached Linear: circuit open, no token, or a revoked or uninstalled app. */
export function unsent(err: unknown): boolean {
  return (
    err instanceof LinearCircuitOpenError ||
    err instanceof LinearWorkspaceUnavailableError ||
    (err instanceof LinearApiError && err.code === 'TOKEN_UNAVAILABLE')
  );
}
