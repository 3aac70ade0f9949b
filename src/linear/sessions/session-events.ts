import { z } from 'zod';
import type { Logger } from '../../log.js';
import type { TaskChannel } from '../../orchestrator/task-channel.js';
import { cancelTask } from '../../orchestrator/cancel.js';
import type { TaskSignals } from '../../tasks/signals.js';
import type { Store } from '../../store/index.js';
import type { LinearAgentSessionRow } from '../../store/linear-sessions.js';
import { createTask } from '../../tasks/create-task.js';
import { ApiError } from '../../tasks/errors.js';
import { isTerminal } from '../../tasks/states.js';
import type { Task, User } from '../../tasks/task.js';
import { createAgentActivity } from '../api.js';
import type { LinearClient } from '../client.js';
import type { LinearClients } from '../clients.js';
import type { AgentActivityContent } from '../documents.js';
import { unsent } from '../lifecycle.js';
import { forwardMove, startedState } from '../lifecycle-states.js';
import { isPassingFailure } from '../unavailable.js';
import { SessionIssue, SessionStarted, type SessionIssueResult } from './documents.js';
import { agentSessionEventSchema, type AgentSessionEvent } from './events.js';
import { sessionMessages } from './messages.js';

/** What the agent-input part provides: a reply reaches the running agent, answers its question, or continues the task. */
export type SendTaskInput = (taskId: string, input: { text: string; author: string }) => Promise<{ kind: 'delivered' | 'answered' | 'continued'; task: Task }>;

export interface AgentSessionEventDeps {
  store: Store;
  clients: LinearClients;
  signals: TaskSignals;
  logger: Logger;
  onTaskCreated(task: Task): void;
  /** Told when a stop cancels a task that had not started (the runner reports a running one). */
  channel?: TaskChannel;
  /** BGAGENT_PUBLIC_URL: the session links to `<publicUrl>/tasks/<id>`. */
  publicUrl: string | undefined;
  sendTaskInput?: SendTaskInput;
}

export type SessionOutcome =
  | { outcome: 'ignored' | 'rejected' | 'asked'; reason: string }
  | { outcome: 'created' | 'replayed' | 'stopped'; taskId: string }
  | { outcome: 'forwarded'; taskId: string; kind: string };

/** What creating the session's task needs, kept with the session until the repository is known. */
const contextSchema = z.object({
  taskText: z.string(),
  issueId: z.string().nullable(),
  teamId: z.string().nullable(),
  creatorName: z.string().nullable(),
  channelMetadata: z.record(z.string(), z.unknown()),
});
type SessionContext = z.infer<typeof contextSchema>;

const MAX_TASK_CHARS = 50_000;
const NOT_YET_STARTED = ['triage', 'backlog', 'unstarted'];

/** One webhook's worth of talking to Linear for a session: each call best-effort, counted, skipped quietly when Linear is unreachable. */
class SessionTalk {
  calls = 0;
  private client: LinearClient | null | undefined;

  constructor(
    private readonly deps: AgentSessionEventDeps,
    readonly sessionId: string,
    private readonly workspaceId: string,
    private readonly log: Logger,
  ) {}

  async say(content: AgentActivityContent): Promise<void> {
    await this.call('post an activity', (c) => createAgentActivity(c, { agentSessionId: this.sessionId, content }));
  }

  async call<T>(what: string, fn: (client: LinearClient) => Promise<T>): Promise<T | undefined> {
    const client = await this.clientOrNull();
    if (!client || client.circuitOpen) {
      this.log.debug({ what }, 'Linear is unreachable; skipped');
      return undefined;
    }
    try {
      const result = await fn(client);
      this.calls += 1;
      return result;
    } catch (err) {
      if (!unsent(err)) this.calls += 1;
      this.log.warn({ err }, `could not ${what} on Linear`);
      return undefined;
    }
  }

  /** Adds this webhook's calls to the task's count. */
  async countOn(taskId: string | null | undefined): Promise<void> {
    if (!taskId || !this.calls) return;
    await this.deps.store.tasks.incrementLinearCalls(taskId, this.calls).catch((err: unknown) => this.log.warn({ err }, 'could not count Linear calls'));
    this.calls = 0;
  }

  private async clientOrNull(): Promise<LinearClient | null> {
    if (this.client === undefined) {
      this.client = await this.deps.clients.forWorkspace(this.workspaceId).catch((err: unknown) => {
        this.log.warn({ err }, 'no Linear client for this workspace');
        return null;
      });
    }
    return this.client;
  }
}

/**
 * Linear's `AgentSessionEvent` webhooks: `created` (bgagent was delegated an issue or mentioned) becomes a
 * task, with a `thought` first so the person sees bgagent respond at once; `prompted` stops the task, answers
 * the repository question, or passes the reply on to the agent.
 */
export async function handleAgentSessionEvent(deps: AgentSessionEventDeps, payload: unknown, deliveryId: string): Promise<SessionOutcome> {
  const parsed = agentSessionEventSchema.safeParse(payload);
  if (!parsed.success) return { outcome: 'ignored', reason: `malformed AgentSessionEvent: ${parsed.error.issues[0]?.path.join('.')} ${parsed.error.issues[0]?.message}` };
  const e = parsed.data;
  const log = deps.logger.child({ agentSessionId: e.agentSession.id, deliveryId });
  const talk = new SessionTalk(deps, e.agentSession.id, e.organizationId, log);
  if (e.action === 'created') return created(deps, e, talk, deliveryId, log);
  if (e.action === 'prompted') return prompted(deps, e, talk, log);
  return { outcome: 'ignored', reason: `AgentSessionEvent ${e.action} is not handled` };
}

async function created(deps: AgentSessionEventDeps, e: AgentSessionEvent, talk: SessionTalk, deliveryId: string, log: Logger): Promise<SessionOutcome> {
  const s = e.agentSession;
  const known = await deps.store.linearSessions.get(s.id);
  if (known?.task_id) return { outcome: 'replayed', taskId: known.task_id };
  const issue = s.issue ?? undefined;
  const context: SessionContext = {
    taskText: taskText(e),
    issueId: issue?.id ?? s.issueId ?? null,
    teamId: issue?.teamId ?? issue?.team?.id ?? null,
    creatorName: s.creator?.name ?? null,
    channelMetadata: {
      agentSessionId: s.id,
      workspaceId: e.organizationId,
      issueId: issue?.id ?? s.issueId ?? null,
      issueIdentifier: issue?.identifier ?? null,
      issueUrl: issue?.url ?? null,
      teamId: issue?.teamId ?? issue?.team?.id ?? null,
      commentId: s.comment?.id ?? null,
      actorId: s.creator?.id ?? s.creatorId ?? null,
      actorName: s.creator?.name ?? null,
      deliveryId,
    },
  };
  const { session } = await deps.store.linearSessions.open({
    id: s.id,
    workspaceId: e.organizationId,
    issueId: context.issueId,
    issueIdentifier: issue?.identifier ?? null,
    creatorId: s.creator?.id ?? s.creatorId ?? null,
    context: JSON.stringify(context),
  });
  // The first sign of life, before anything slow: Linear shows the agent unresponsive after 10 s.
  await talk.say({ type: 'thought', body: sessionMessages.received(issue?.identifier) });
  return begin(deps, session, talk, log);
}

/** Runs the session as its creator, in the repository its issue maps to, or asks which repository. */
async function begin(deps: AgentSessionEventDeps, session: LinearAgentSessionRow, talk: SessionTalk, log: Logger): Promise<SessionOutcome> {
  const context = contextSchema.parse(JSON.parse(session.context));
  const refuse = async (reason: string, body: string): Promise<SessionOutcome> => {
    log.info({ reason }, 'Linear agent session refused');
    await talk.say({ type: 'error', body });
    await deps.store.linearSessions.update(session.id, { status: 'refused' });
    return { outcome: 'rejected', reason };
  };
  if (!session.creator_id) return refuse('no creator', sessionMessages.noCreator());
  const link = await deps.store.linear.getUserLink(session.workspace_id, session.creator_id);
  const user = link && (await deps.store.users.getById(link.user_id));
  if (!user) return refuse('user not linked', sessionMessages.notLinked(context.creatorName ?? undefined));

  const issue = context.issueId ? (await talk.call('read the issue', (c) => c.request(SessionIssue, { id: context.issueId! })))?.issue : undefined;
  const repo = await repositoryFor(deps.store, issue, context.teamId);
  if (!repo) {
    const repos = (await deps.store.repos.list()).map((r) => r.name);
    if (!repos.length) return refuse('no repositories', sessionMessages.noRepos());
    await talk.say({ type: 'elicitation', body: sessionMessages.pickRepo(repos) });
    await deps.store.linearSessions.update(session.id, { status: 'awaiting_repo' });
    return { outcome: 'asked', reason: 'no repository mapped for the issue' };
  }
  return startTask(deps, session, context, user, repo, issue, talk, log);
}

async function repositoryFor(store: Store, issue: SessionIssueResult['issue'] | undefined, teamId: string | null): Promise<string | undefined> {
  const project = issue?.project ? await store.linear.getProject(issue.project.id) : undefined;
  if (project?.status === 'active') return project.repo;
  const team = issue?.team.id ?? teamId;
  return team ? (await store.linearSessions.getTeamRepo(team))?.repo : undefined;
}

async function startTask(
  deps: AgentSessionEventDeps,
  session: LinearAgentSessionRow,
  context: SessionContext,
  user: User,
  repo: string,
  issue: SessionIssueResult['issue'] | undefined,
  talk: SessionTalk,
  log: Logger,
): Promise<SessionOutcome> {
  let task: Task;
  let replay: boolean;
  try {
    ({ task, replay } = await createTask(
      { store: deps.store, onCreated: deps.onTaskCreated },
      user,
      {
        repo,
        task: context.taskText,
        issue: issue?.identifier ?? session.issue_identifier ?? undefined,
      },
      {
        idempotencyKey: `linear-session:${session.id}`,
        origin: { source: 'linear', metadata: { ...context.channelMetadata, projectId: issue?.project?.id ?? null, issueUrl: issue?.url ?? context.channelMetadata.issueUrl } },
      },
    ));
  } catch (err) {
    // The database out of reach: the delivery is tried again later (the idempotency key makes one task), and
    // the session is told only if every try fails.
    if (isPassingFailure(err)) throw err;
    const reason = err instanceof ApiError ? err.code : 'refused';
    if (!(err instanceof ApiError)) log.error({ err }, 'creating a task from a Linear agent session failed');
    await talk.say({ type: 'error', body: sessionMessages.refused(err instanceof ApiError ? err.message : `unexpected error (delivery ${String(context.channelMetadata.deliveryId)})`) });
    await deps.store.linearSessions.update(session.id, { status: 'refused' });
    return { outcome: 'rejected', reason };
  }
  await deps.store.linearSessions.update(session.id, { status: 'active', taskId: task.id });
  await markStarted(deps, session, issue, task, talk, log);
  await talk.countOn(task.id);
  return { outcome: replay ? 'replayed' : 'created', taskId: task.id };
}

/** Moves a not-yet-started issue to its team's first started state and links the session to the task's page, in one request. */
async function markStarted(deps: AgentSessionEventDeps, session: LinearAgentSessionRow, issue: SessionIssueResult['issue'] | undefined, task: Task, talk: SessionTalk, log: Logger): Promise<void> {
  const target = issue && NOT_YET_STARTED.includes(issue.state.type) ? forwardMove(issue.state, startedState(issue.team.states.nodes)) : undefined;
  const url = deps.publicUrl ? `${deps.publicUrl.replace(/\/+$/, '')}/tasks/${task.id}` : undefined;
  if (!url) log.debug({ taskId: task.id }, 'no public URL configured (BGAGENT_PUBLIC_URL): the Linear session is not linked to the task page');
  if (!target && !url) return;
  await talk.call('mark the session started', (c) =>
    c.request(SessionStarted, {
      issueId: issue?.id ?? '',
      move: target !== undefined,
      stateId: target?.id ?? '',
      sessionId: session.id,
      link: url !== undefined,
      input: url ? { externalLink: url, externalUrls: [{ label: `bgagent task ${task.id}`, url }] } : {},
    }),
  );
}

async function prompted(deps: AgentSessionEventDeps, e: AgentSessionEvent, talk: SessionTalk, log: Logger): Promise<SessionOutcome> {
  const session = await deps.store.linearSessions.get(e.agentSession.id);
  if (!session) {
    await talk.say({ type: 'error', body: sessionMessages.unknownSession() });
    return { outcome: 'rejected', reason: 'a prompt for a session bgagent does not know' };
  }
  const activity = e.agentActivity;
  const text = activity?.content?.body?.trim() ?? '';
  const prompter = activity?.user ?? (activity?.userId ? { id: activity.userId } : undefined);

  if (activity?.signal === 'stop') return stop(deps, session, prompter, talk, log);
  if (session.status === 'refused') {
    await talk.say({ type: 'thought', body: sessionMessages.followUp() });
    return begin(deps, session, talk, log);
  }
  if (session.status === 'awaiting_repo' || !session.task_id) {
    await talk.say({ type: 'thought', body: sessionMessages.followUp() });
    const repos = (await deps.store.repos.list()).map((r) => r.name);
    const repo = repoNamedIn(text, repos);
    if (!repo) {
      await talk.say({ type: 'elicitation', body: sessionMessages.repoNotRecognised(repos) });
      return { outcome: 'asked', reason: 'the reply named no onboarded repository' };
    }
    const context = contextSchema.parse(JSON.parse(session.context));
    const link = session.creator_id ? await deps.store.linear.getUserLink(session.workspace_id, session.creator_id) : undefined;
    const user = link && (await deps.store.users.getById(link.user_id));
    if (!user) return begin(deps, session, talk, log);
    const issue = context.issueId ? (await talk.call('read the issue', (c) => c.request(SessionIssue, { id: context.issueId! })))?.issue : undefined;
    return startTask(deps, session, context, user, repo, issue, talk, log);
  }

  await talk.say({ type: 'thought', body: sessionMessages.followUp() });
  const taskId = session.task_id;
  if (!deps.sendTaskInput) {
    await talk.countOn(taskId);
    return { outcome: 'ignored', reason: 'follow-ups are not available' };
  }
  try {
    const author = (await linkedUserName(deps.store, session.workspace_id, prompter?.id)) ?? prompter?.name ?? 'someone on Linear';
    const result = await deps.sendTaskInput(taskId, { text, author });
    if (result.kind === 'continued') {
      // Only a shortcut: a reply or stop follows the task's continuations anyway. Failing here must not
      // make the reply look lost (and be sent again) once it was passed on.
      await deps.store.linearSessions.update(session.id, { taskId: result.task.id }).catch((err: unknown) => log.warn({ err }, "could not record the session's continuation"));
      await talk.say({ type: 'thought', body: sessionMessages.continued(result.task) });
    }
    await talk.countOn(result.task.id);
    return { outcome: 'forwarded', taskId: result.task.id, kind: result.kind };
  } catch (err) {
    // The database out of reach: the delivery is tried again later. (The message is stored in one
    // transaction; only a failure after it, e.g. reading the task back, could pass it on twice.)
    if (isPassingFailure(err)) throw err;
    if (!(err instanceof ApiError)) log.error({ err }, 'passing a Linear reply to the task failed');
    await talk.say({ type: 'error', body: sessionMessages.refused(err instanceof ApiError ? err.message : 'the reply could not be passed on; try again') });
    await talk.countOn(taskId);
    return { outcome: 'rejected', reason: err instanceof ApiError ? err.code : 'input failed' };
  }
}

/** Linear's stop signal: cancel at once; the runner (wherever it is) stops the agent and the channel ends the session. */
async function stop(deps: AgentSessionEventDeps, session: LinearAgentSessionRow, prompter: { id: string; name?: string } | undefined, talk: SessionTalk, log: Logger): Promise<SessionOutcome> {
  await talk.say({ type: 'thought', body: sessionMessages.stopping() });
  const task = session.task_id ? await newestContinuation(deps.store, session.task_id) : undefined;
  if (!task) {
    await talk.say({ type: 'response', body: 'Stopped. No task had started.' });
    await deps.store.linearSessions.update(session.id, { status: 'refused' });
    return { outcome: 'ignored', reason: 'stopped before a task existed' };
  }
  if (isTerminal(task.status)) {
    await talk.say({ type: 'response', body: sessionMessages.alreadyEnded(task) });
    await talk.countOn(task.id);
    return { outcome: 'stopped', taskId: task.id };
  }
  const name = (await linkedUserName(deps.store, session.workspace_id, prompter?.id)) ?? (prompter?.name ? `${prompter.name} (Linear)` : 'a Linear user');
  // Linear verified who asked; the task is stopped on the owner's behalf, recorded with the asker's name.
  const by: User = { id: task.userId, name, isAdmin: false, maxConcurrent: null, createdAt: 0 };
  try {
    await cancelTask(deps.store, deps.signals, task.id, by, deps.channel);
    log.info({ taskId: task.id, by: name }, 'task stopped from Linear');
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    await talk.say({ type: 'thought', body: err.code === 'TASK_NOT_CANCELLABLE' ? 'It is already pushing its branch and finishes in a moment.' : err.message });
  }
  await talk.countOn(task.id);
  return { outcome: 'stopped', taskId: task.id };
}

/** The task the session's work is in now: a reply from anywhere (Linear, the CLI, the API) may have continued it. */
async function newestContinuation(store: Store, taskId: string): Promise<Task | undefined> {
  let task = await store.tasks.get(taskId);
  for (let next = task; next; next = await store.tasks.latestContinuation(next.id)) task = next;
  return task;
}

/** The session's last word on an event bgagent could not handle (its delivery failed for good), and what to do. */
export async function reportLostSessionEvent(deps: AgentSessionEventDeps, payload: unknown, deliveryId: string, unavailable: boolean): Promise<void> {
  const parsed = agentSessionEventSchema.safeParse(payload);
  if (!parsed.success) return;
  const e = parsed.data;
  const talk = new SessionTalk(deps, e.agentSession.id, e.organizationId, deps.logger.child({ agentSessionId: e.agentSession.id, deliveryId }));
  const what = e.action === 'created' ? 'start' : e.agentActivity?.signal === 'stop' ? 'stop' : 'reply';
  await talk.say({ type: 'error', body: sessionMessages.lost(what, deliveryId, unavailable) });
}

async function linkedUserName(store: Store, workspaceId: string, linearUserId: string | undefined): Promise<string | undefined> {
  if (!linearUserId) return undefined;
  const link = await store.linear.getUserLink(workspaceId, linearUserId);
  return link ? (await store.users.getById(link.user_id))?.name : undefined;
}

/** The onboarded repository a reply names: its full name, else a unique short name (`demo` for `acme/demo`). */
export function repoNamedIn(text: string, repos: string[]): string | undefined {
  const words = new Set(text.toLowerCase().split(/[^a-z0-9._/-]+/).map((w) => w.replace(/[.]+$/, '')).filter(Boolean));
  const full = repos.filter((r) => words.has(r.toLowerCase())).sort((a, b) => b.length - a.length);
  if (full.length) return full[0];
  const short = repos.filter((r) => r.includes('/') && words.has(r.split('/').pop()!.toLowerCase()));
  return short.length === 1 ? short[0] : undefined;
}

function taskText(e: AgentSessionEvent): string {
  const issue = e.agentSession.issue;
  const fromIssue = [issue?.title?.trim() || issue?.identifier || 'Linear issue', issue?.description?.trim()].filter(Boolean).join('\n\n');
  const text = e.promptContext?.trim() || fromIssue;
  return text.length > MAX_TASK_CHARS ? text.slice(0, MAX_TASK_CHARS) : text;
}
