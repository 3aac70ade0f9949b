import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from '../log.js';
import type { Store } from '../store/index.js';
import type { Task, Repo, NewTaskEvent } from '../tasks/task.js';
import type { TaskStatus } from '../tasks/states.js';
import { TransitionConflictError, toError } from '../tasks/errors.js';
import type { AgentConversation, AgentEvent, AgentHarness, AgentInputs, AgentResult } from '../agent/harness.js';
import { sandboxUnavailableMessage, warnUnconfined, type SandboxState } from '../sandbox/index.js';
import type { GitAuth, Workspace, WorkspaceManager } from '../workspace/index.js';
import { TaskFailure } from './failure.js';
import type { TaskSignals } from '../tasks/signals.js';
import { buildAgentPrompt } from './prompt.js';
import { GitHubPreflightError } from '../github/index.js';
import type { GitHubIntegration } from '../github/integration.js';
import type { TaskChannel } from './task-channel.js';
import { isTerminal } from '../tasks/states.js';
import { continueTask, waitForAnswer } from '../tasks/task-input.js';
import { withoutCloneUrl } from '../workspace/clone-url.js';

export interface RunnerDeps {
  store: Store;
  workspaces: WorkspaceManager;
  harnessFor(repo: Repo): AgentHarness;
  /** Credentials for git over http(s); undefined for file:// remotes or anonymous access. */
  gitAuthFor(repo: Repo): Promise<GitAuth | undefined>;
  /** Pre-flight and pull requests for repositories hosted on GitHub. */
  github?: GitHubIntegration;
  signals: TaskSignals;
  /** Told when the task starts, opens a PR and ends; never awaited, never fails the task. */
  channel?: TaskChannel;
  logger: Logger;
  workerId: string;
  leaseMs: number;
  taskTimeoutMs: number;
  /** How agents run here; unavailable fails every task at once with SANDBOX_UNAVAILABLE. Omitted: the harness decides. */
  sandbox?: SandboxState;
  /** Agent events stored per task, over all its runs; the rest are counted (BGAGENT_MAX_OUTPUT_EVENTS_PER_TASK). */
  maxOutputEventsPerTask?: number;
  now?: () => number;
}

const DEFAULT_MAX_OUTPUT_EVENTS_PER_TASK = 5000;

const AUTHOR = { authorName: 'bgagent', authorEmail: 'bgagent@users.noreply.local' };

/**
 * Drives one admitted task from HYDRATING to a terminal state while holding its lease:
 * workspace → agent → commit, push → COMPLETED, or FAILED / TIMED_OUT with a reason.
 * A cancel (the row moved to CANCELLED by someone else) stops the agent and ends the run quietly.
 */
export class TaskRunner {
  private readonly now: () => number;

  constructor(private readonly deps: RunnerDeps) {
    this.now = deps.now ?? Date.now;
  }

  async run(task: Task): Promise<void> {
    const log = this.deps.logger.child({ taskId: task.id });
    const stop = new AbortController();
    const heartbeat = this.startHeartbeat(task.id, stop, log);
    const offCancel = this.deps.signals.onCancelled(task.id, () => stop.abort('cancelled'));
    try {
      if (task.status === 'FINALIZING') {
        await this.finalize(task, await this.repoOf(task), undefined);
      } else {
        await this.runFromHydration(task, stop, log);
      }
    } catch (err) {
      await this.fail(task.id, err, log);
    } finally {
      clearInterval(heartbeat);
      offCancel();
      this.deps.signals.changed(task.id);
      this.deps.signals.wake(task.userId);
      const ended = await this.deps.store.tasks.get(task.id).catch((err: unknown) => log.warn({ err }, 'could not read the task to report its end'));
      if (ended && isTerminal(ended.status)) {
        this.deps.channel?.finished?.(ended);
        // Every way a run ends (failure, cancel, timeout, completion) meets here; nothing resumes an ended task.
        await this.cleanup(task.id, log);
      }
      if (ended?.status === 'COMPLETED') await this.continueWithLateInputs(ended, log);
    }
  }

  /**
   * Messages that reached a completed task after its agent's last turn (while it pushed and opened the PR)
   * were promised to the agent: a continuation takes them on the same branch. A task that failed keeps them
   * for the person's next message instead of retrying on its own.
   */
  private async continueWithLateInputs(task: Task, log: Logger): Promise<void> {
    const { store, signals } = this.deps;
    try {
      if (await store.tasks.latestContinuation(task.id)) return;
      const next = await continueTask({ store, signals, onTaskCreated: (t) => signals.wake(t.userId) }, task);
      if (next) log.info({ continuation: next.id }, 'messages arrived as the task completed; a continuation takes them');
    } catch (err) {
      // A person's message continued the task at the same moment, and took these messages with it.
      if (!(await store.tasks.latestContinuation(task.id).catch(() => undefined))) log.warn({ err }, 'could not continue the task with the messages that arrived as it completed');
    }
  }

  private async runFromHydration(task: Task, stop: AbortController, log: Logger): Promise<void> {
    const sandbox = this.deps.sandbox;
    if (sandbox?.mode === 'unavailable') throw new TaskFailure('SANDBOX_UNAVAILABLE', sandboxUnavailableMessage(sandbox));
    if (sandbox?.mode === 'none') warnUnconfined(log, task.id);
    this.deps.channel?.started?.(task);
    const repo = await this.repoOf(task);
    await this.event(task.id, { type: 'hydration_started', message: `Preparing a workspace for ${repo.name}` });
    await this.preflight(task, repo);
    const auth = await this.deps.gitAuthFor(repo);
    let workspace: Workspace;
    try {
      workspace = await this.deps.workspaces.prepare({
        taskId: task.id,
        repo: { name: repo.name, cloneUrl: repo.cloneUrl, defaultBranch: repo.defaultBranch },
        branch: task.branchName,
        auth,
      });
    } catch (err) {
      throw gitFailure('WORKSPACE_FAILED', `could not prepare the workspace of ${repo.name}`, err, repo, log);
    }
    await this.event(task.id, {
      type: 'workspace_ready',
      message: `Workspace ready on branch ${workspace.branch}`,
      data: { branch: workspace.branch, baseSha: workspace.baseSha },
    });

    const now = this.now();
    // Resuming after a question: the time from the question until now (the wait for an answer, then for a
    // worker slot) does not count against the task's time limit.
    const resumed = task.questionAskedAt === null ? {} : { input_wait_ms: task.inputWaitMs + Math.max(0, now - task.questionAskedAt), question_asked_at: null };
    const running = await this.transition(task.id, ['HYDRATING'], 'RUNNING', {
      patch: { started_at: task.startedAt ?? now, ...resumed },
      event: { type: 'session_started', message: `Agent ${repo.agent} started`, data: { agent: repo.agent } },
    });
    let result = await this.runAgent(running, repo, workspace, stop, log, await this.firstRun(running, repo));
    // Follow-ups that arrived as the agent was finishing: the agent goes on with them before the push.
    while (result.outcome === 'success' && result.conversation && !stop.signal.aborted) {
      const late = (await this.deps.store.inputs.take(task.id)).map((i) => i.text);
      if (!late.length) break;
      const next = await this.runAgent(running, repo, workspace, stop, log, { prompt: late.join('\n\n'), resume: result.conversation });
      result = { ...next, costUsd: sum(result.costUsd, next.costUsd), turns: sum(result.turns, next.turns) };
    }
    await this.afterAgent(running, repo, workspace, result, stop, log);
  }

  /**
   * What the agent starts from: an answered question resumes the task's own conversation; a continuation
   * resumes its parent's with the follow-up; otherwise the task prompt, with any message sent before it ran.
   */
  private async firstRun(task: Task, repo: Repo): Promise<AgentRun> {
    const inputs = this.deps.store.inputs;
    const waiting = await inputs.take(task.id);
    const own = await inputs.conversation(task.id);
    if (own && waiting.length) return { prompt: joinInputs(waiting), resume: own };
    const parent = task.parentTaskId ? await inputs.conversation(task.parentTaskId) : undefined;
    const prompt = parent ? task.taskDescription : buildAgentPrompt(task, repo);
    const withInputs = waiting.length ? `${prompt}\n\nMessages from the person since the task was submitted:\n${joinInputs(waiting)}` : prompt;
    return parent ? { prompt: withInputs, resume: parent } : { prompt: withInputs };
  }

  private async runAgent(task: Task, repo: Repo, workspace: Workspace, stop: AbortController, log: Logger, agentRun: AgentRun): Promise<AgentResult> {
    const home = mkdtempSync(join(tmpdir(), 'bgagent-home-'));
    const cap = this.deps.maxOutputEventsPerTask ?? DEFAULT_MAX_OUTPUT_EVENTS_PER_TASK;
    const stored = await this.deps.store.tasks.countEvents(task.id, AGENT_EVENT_TYPES);
    const events = new EventWriter(this.deps.store, task.id, Math.max(0, cap - stored), log, () => this.deps.signals.changed(task.id));
    const remaining = Math.max(0, (task.startedAt ?? this.now()) + task.inputWaitMs + this.deps.taskTimeoutMs - this.now());
    const harness = this.deps.harnessFor(repo);
    const startedAt = this.now();
    try {
      const result = await harness.run({
        taskId: task.id,
        workspacePath: workspace.path,
        mirrorPath: workspace.mirror,
        taskText: task.taskDescription,
        prompt: agentRun.prompt,
        ...(agentRun.resume ? { resume: agentRun.resume } : {}),
        inputs: this.followUps(task.id),
        maxTurns: task.maxTurns,
        maxBudgetUsd: task.maxBudgetUsd,
        timeoutMs: remaining,
        env: agentEnvironment(home, task.id),
        settings: repo.agentSettings,
        signal: stop.signal,
        onEvent: (ev) => {
          events.write({ type: ev.type, message: ev.message, data: ev.data });
          this.deps.channel?.agentEvent?.(task, ev);
        },
      });
      if (result.conversation) {
        await this.deps.store.inputs
          .saveConversation({ taskId: task.id, harness: harness.name, ...result.conversation })
          .catch((err: unknown) => log.warn({ err }, "could not save the agent's conversation; a follow-up will start a new one"));
      }
      // Sent as the run ended: pending again, for the next run, the answer to a question or a continuation.
      if (result.undelivered?.length) await this.deps.store.inputs.release(task.id, result.undelivered, startedAt);
      return result;
    } finally {
      await events.flush();
      if (events.dropped) {
        await this.event(task.id, {
          type: 'agent_output_capped',
          message: `${events.dropped} more agent event${events.dropped === 1 ? ' was' : 's were'} not recorded: a task records at most ${cap}`,
          data: { dropped: events.dropped, cap },
        }).catch((err: unknown) => log.warn({ err }, 'could not record how many agent events were left out'));
      }
      rmSync(home, { recursive: true, force: true });
    }
  }

  /** Follow-ups for a running agent: from the database (any process may store one), woken locally at once. */
  private followUps(taskId: string): AgentInputs {
    const { store, signals } = this.deps;
    return {
      take: async () => (await store.inputs.take(taskId)).map((i) => i.text),
      changed: (signal) =>
        new Promise<void>((resolve) => {
          const done = (): void => {
            clearTimeout(timer);
            off();
            signal.removeEventListener('abort', done);
            resolve();
          };
          const timer = setTimeout(done, FOLLOW_UP_POLL_MS);
          const off = signals.onInputArrived(taskId, done);
          signal.addEventListener('abort', done, { once: true });
        }),
    };
  }

  private async afterAgent(
    task: Task,
    repo: Repo,
    workspace: Workspace,
    result: AgentResult,
    stop: AbortController,
    log: Logger,
  ): Promise<void> {
    // A resumed task adds to what its earlier runs spent.
    const stats = { cost_usd: sum(task.costUsd ?? undefined, result.costUsd) ?? null, turns: sum(task.turns ?? undefined, result.turns) ?? null };
    if (result.outcome === 'cancelled' || stop.signal.aborted) {
      // Cancelled through the API (the row is already CANCELLED) or the lease was lost: nothing to write.
      await this.deps.store.tasks.update(task.id, ['CANCELLED'], stats);
      return;
    }
    if (result.outcome === 'timed_out') {
      await this.transition(task.id, ['RUNNING'], 'TIMED_OUT', {
        patch: { ...stats, finished_at: this.now(), error_code: 'TIMED_OUT', error_message: 'the task ran past its time limit' },
        event: { type: 'task_timed_out', message: 'The task ran past its time limit and was stopped' },
      });
      return;
    }
    if (result.outcome === 'awaiting_input') {
      await this.awaitAnswer(task, repo, workspace, result.question ?? '', stats, log);
      return;
    }
    if (result.outcome !== 'success') {
      const code = { failed: 'AGENT_FAILED', max_turns: 'MAX_TURNS_REACHED', budget_exceeded: 'BUDGET_EXCEEDED' }[result.outcome];
      throw Object.assign(new TaskFailure(code, result.errorMessage ?? `the agent ended with ${result.outcome}`), { stats });
    }
    const finalizing = await this.transition(task.id, ['RUNNING'], 'FINALIZING', {
      patch: { ...stats, summary: result.summary ?? null },
      event: {
        type: 'agent_finished',
        message: 'The agent finished',
        data: { costUsd: result.costUsd ?? null, turns: result.turns ?? null },
      },
    });
    await this.finalize(finalizing, repo, workspace);
  }

  /**
   * The agent asked the person a question. Its work so far is committed and pushed (so any worker can
   * resume from the branch), and the task waits without a lease, a worker slot or an agent process.
   */
  private async awaitAnswer(task: Task, repo: Repo, workspace: Workspace, question: string, stats: Record<string, unknown>, log: Logger): Promise<void> {
    await this.deps.workspaces.commitAll(workspace, { message: `Work in progress before a question\n\nbgagent task ${task.id}`, ...AUTHOR });
    if (await this.deps.workspaces.hasChanges(workspace)) {
      try {
        await this.deps.workspaces.push(workspace, { cloneUrl: repo.cloneUrl, auth: await this.deps.gitAuthFor(repo) });
      } catch (err) {
        throw gitFailure('PUSH_FAILED', `could not save the work in progress on ${task.branchName} before waiting for an answer`, err, repo, log);
      }
    }
    // Gone before the task can resume: the resumed run prepares the same workspace directory.
    await this.cleanup(task.id, log);
    const { store } = this.deps;
    const now = this.now();
    // A reply sent while the work was being pushed (the question was already shown) is stored as a
    // follow-up; in the same step as the wait begins, it becomes the answer (see waitForAnswer: without
    // the waiting-task limit, since the task was already admitted).
    const { task: after, answeredEarly } = await waitForAnswer(store, task.id, {
      patch: { ...stats, question, question_asked_at: now, lease_owner: null, lease_expires_at: null },
      event: { type: 'input_requested', message: `The agent asks: ${question}`, data: { question } },
      leaseOwner: this.deps.workerId,
    });
    this.deps.signals.changed(task.id);
    if (!answeredEarly) this.deps.channel?.awaitingInput?.(after, question);
    this.deps.signals.wake(task.userId);
  }

  /** Commit what the agent left, push the branch, complete. Safe to run again after a crash. */
  private async finalize(task: Task, repo: Repo, workspace: Workspace | undefined): Promise<void> {
    const ws =
      workspace ??
      (await this.deps.workspaces.prepare({
        taskId: task.id,
        repo: { name: repo.name, cloneUrl: repo.cloneUrl, defaultBranch: repo.defaultBranch },
        branch: task.branchName,
        auth: await this.deps.gitAuthFor(repo),
      }));
    const commit = await this.deps.workspaces.commitAll(ws, { message: commitMessage(task), ...AUTHOR });
    if (commit.committed) {
      await this.event(task.id, { type: 'commit_created', message: `Committed the agent's remaining changes (${commit.sha.slice(0, 12)})`, data: { sha: commit.sha } });
    }
    const changed = await this.deps.workspaces.hasChanges(ws);
    if (!changed && !workspace) {
      // Resumed after a crash: a workspace rebuilt on this worker holds none of the agent's unpushed work.
      throw new TaskFailure('WORKER_LOST', "the worker finalizing this task stopped before the agent's work was pushed; re-submit the task");
    }
    if (!changed) {
      await this.transition(task.id, ['FINALIZING'], 'COMPLETED', {
        patch: { outcome: 'no_changes', finished_at: this.now() },
        event: { type: 'task_completed', message: 'Completed with no changes', data: { outcome: 'no_changes' } },
      });
      return;
    }
    try {
      await this.deps.workspaces.push(ws, { cloneUrl: repo.cloneUrl, auth: await this.deps.gitAuthFor(repo) });
    } catch (err) {
      throw gitFailure('PUSH_FAILED', `could not push ${task.branchName}`, err, repo, this.deps.logger.child({ taskId: task.id }));
    }
    await this.event(task.id, { type: 'branch_pushed', message: `Pushed ${task.branchName}`, data: { branch: task.branchName } });
    const pr = await this.openPullRequest(task, repo);
    await this.transition(task.id, ['FINALIZING'], 'COMPLETED', {
      patch: { outcome: pr ? 'pr_opened' : 'changes_pushed', finished_at: this.now() },
      event: pr
        ? { type: 'task_completed', message: `Completed: pull request ${pr.url}`, data: { outcome: 'pr_opened', prUrl: pr.url, prNumber: pr.number } }
        : { type: 'task_completed', message: `Completed: branch ${task.branchName} pushed`, data: { outcome: 'changes_pushed', branch: task.branchName } },
    });
  }

  /** Before any agent cost: can our credentials reach and push to the repository? */
  private async preflight(task: Task, repo: Repo): Promise<void> {
    const github = this.deps.github;
    if (!github?.handles(repo)) return;
    try {
      await github.preflight(repo);
    } catch (err) {
      if (err instanceof GitHubPreflightError) {
        await this.event(task.id, { type: 'preflight_failed', message: err.message, data: { code: err.code } });
        throw new TaskFailure(err.code, err.message);
      }
      throw new TaskFailure('REPO_NOT_FOUND_OR_NO_ACCESS', `could not check the repository on GitHub: ${toError(err).message}`);
    }
    await this.event(task.id, { type: 'preflight_passed', message: 'The repository is reachable and the token can push' });
  }

  /** Finds or creates the PR for the task's branch (never a second one), and records it. */
  private async openPullRequest(task: Task, repo: Repo): Promise<{ url: string; number: number } | undefined> {
    const github = this.deps.github;
    if (!github?.handles(repo)) return undefined;
    const current = (await this.deps.store.tasks.get(task.id)) ?? task;
    let pr;
    try {
      pr = await github.openPullRequest(current, repo, current.summary);
    } catch (err) {
      throw new TaskFailure('PR_FAILED', `the branch was pushed but the pull request could not be opened: ${toError(err).message}`);
    }
    await this.deps.store.tasks.update(task.id, ['FINALIZING'], { pr_url: pr.url, pr_number: pr.number }, this.deps.workerId);
    await this.event(task.id, {
      type: 'pr_created',
      message: `${pr.created ? 'Opened' : 'Updated'} pull request #${pr.number}: ${pr.url}`,
      data: { prUrl: pr.url, prNumber: pr.number, created: pr.created },
    });
    this.deps.channel?.prCreated?.(task, pr);
    return pr;
  }

  private async fail(taskId: string, err: unknown, log: Logger): Promise<void> {
    if (err instanceof TransitionConflictError) {
      log.info({ err: err.message }, 'task changed under the runner (cancelled or taken over); stopping');
      return;
    }
    const failure = err instanceof TaskFailure ? err : new TaskFailure('INTERNAL_ERROR', toError(err).message);
    if (!(err instanceof TaskFailure)) log.error({ err }, 'task failed with an unexpected error');
    else log.warn({ code: failure.code, reason: failure.message }, 'task failed');
    const stats = (err as { stats?: Record<string, unknown> }).stats ?? {};
    try {
      await this.deps.store.tasks.transition(taskId, ['SUBMITTED', 'QUEUED', 'HYDRATING', 'RUNNING', 'AWAITING_INPUT', 'FINALIZING'], 'FAILED', {
        patch: { ...stats, error_code: failure.code, error_message: failure.message, finished_at: this.now() },
        event: { type: 'task_failed', message: `Failed: ${failure.message}`, data: { code: failure.code } },
      });
    } catch (writeErr) {
      if (!(writeErr instanceof TransitionConflictError)) log.error({ err: writeErr }, 'could not record the task failure');
    }
  }

  private async cleanup(taskId: string, log: Logger): Promise<void> {
    await this.deps.workspaces.removeTask(taskId).catch((err: unknown) => log.warn({ err }, 'could not remove the workspace; the next start-up sweep does'));
  }

  private async repoOf(task: Task): Promise<Repo> {
    const repo = await this.deps.store.repos.get(task.repo);
    if (!repo) throw new TaskFailure('REPO_NOT_ONBOARDED', `repository "${task.repo}" is no longer onboarded`);
    return repo;
  }

  private async transition(id: string, from: TaskStatus[], to: TaskStatus, opts: { patch?: Record<string, unknown>; event: NewTaskEvent }): Promise<Task> {
    const task = await this.deps.store.tasks.transition(id, from, to, { ...opts, leaseOwner: this.deps.workerId });
    this.deps.signals.changed(id);
    return task;
  }

  private async event(id: string, event: NewTaskEvent): Promise<void> {
    await this.deps.store.tasks.appendEvent(id, event);
    this.deps.signals.changed(id);
  }

  /**
   * Renews the lease while the task runs. A renewal that matches no row means the task was cancelled
   * or another worker took it over: the agent is stopped.
   */
  private startHeartbeat(taskId: string, stop: AbortController, log: Logger): NodeJS.Timeout {
    const interval = Math.max(200, Math.min(this.deps.leaseMs / 3, 2000));
    const timer = setInterval(() => {
      const now = this.now();
      this.deps.store.tasks
        .update(taskId, ['HYDRATING', 'RUNNING', 'FINALIZING'], { heartbeat_at: now, lease_expires_at: now + this.deps.leaseMs }, this.deps.workerId)
        .then((held) => {
          if (!held && !stop.signal.aborted) {
            log.info('lease lost or task cancelled; stopping the agent');
            stop.abort('lease lost');
          }
        })
        .catch((err: unknown) => log.warn({ err }, 'heartbeat failed'));
    }, interval);
    timer.unref();
    return timer;
  }
}

/** How often a running agent looks for follow-ups stored by another process. */
const FOLLOW_UP_POLL_MS = 1000;

interface AgentRun {
  prompt: string;
  resume?: AgentConversation;
}

function joinInputs(inputs: Array<{ text: string }>): string {
  return inputs.map((i) => i.text).join('\n\n');
}

function sum(a: number | undefined, b: number | undefined): number | undefined {
  return a === undefined && b === undefined ? undefined : (a ?? 0) + (b ?? 0);
}

/** The agent's whole environment, built explicitly: no platform credential can leak into it. */
export function agentEnvironment(home: string, taskId: string): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
    HOME: home,
    TMPDIR: home,
    LANG: process.env.LANG ?? 'C.UTF-8',
    BGAGENT_TASK_ID: taskId,
    GIT_TERMINAL_PROMPT: '0',
  };
}

/**
 * A git step's failure as the task records it: git's message for the owner without the clone URL (an admin's
 * setting), the whole of it in the log. A failure that already has its code (the git credential) stays as it is.
 */
function gitFailure(code: string, what: string, err: unknown, repo: Repo, log: Logger): TaskFailure {
  if (err instanceof TaskFailure) return err;
  log.warn({ err }, what);
  return new TaskFailure(code, `${what}: ${withoutCloneUrl(toError(err).message, repo.cloneUrl)}`);
}

function commitMessage(task: Task): string {
  const firstLine = task.taskDescription.split('\n')[0]!.slice(0, 72);
  return `${firstLine}\n\nbgagent task ${task.id}`;
}

/** The event types a harness reports (AgentEvent), counted against the task's cap; the runner's own lifecycle events never are. */
const AGENT_EVENT_TYPES = Object.keys({ agent_message: true, tool_use: true, tool_result: true, agent_output: true, progress: true } satisfies Record<AgentEvent['type'], true>);

/** Appends agent events in order without making the agent wait for the database; past `room` events, only counts them. */
class EventWriter {
  private chain: Promise<void> = Promise.resolve();
  /** Events not stored: the task's cap was reached. */
  dropped = 0;
  constructor(
    private readonly store: Store,
    private readonly taskId: string,
    private room: number,
    private readonly log: Logger,
    private readonly onWritten: () => void,
  ) {}

  write(event: NewTaskEvent): void {
    if (this.room <= 0) {
      this.dropped++;
      return;
    }
    this.room--;
    this.chain = this.chain
      .then(() => this.store.tasks.appendEvent(this.taskId, event))
      .then(this.onWritten, (err: unknown) => this.log.warn({ err }, 'could not record an agent event'));
  }

  flush(): Promise<void> {
    return this.chain;
  }
}
