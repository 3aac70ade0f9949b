import { randomUUID } from 'node:crypto';
import {
  GraphQLError,
  defaultFieldResolver,
  isEnumType,
  isListType,
  isNonNullType,
  isScalarType,
  type GraphQLFieldResolver,
  type GraphQLOutputType,
  type GraphQLTypeResolver,
} from 'graphql';
import type {
  EmAgentActivity,
  EmAgentSession,
  EmComment,
  EmIssue,
  EmLabel,
  EmProject,
  EmReaction,
  EmTeam,
  EmUser,
  EmWorkflowState,
  LinearEmulatorState,
} from './state.js';

/**
 * Resolvers over the emulator's state. Every object is a "view": plain fields plus functions for
 * relations and connections (graphql-js calls a function-valued field with `(args, context, info)`).
 * A field the view does not define resolves to null, or for a non-null field to an empty default, so any
 * document valid against Linear's schema executes.
 */

export interface EmulatorContext {
  viewer: EmUser;
}

type Args = Record<string, unknown>;
type View = Record<string, unknown>;

/** Linear's error extensions shape (`type`, `code`, `statusCode`, `userError`, `userPresentableMessage`). */
export function linearGraphQLError(message: string, ext: { type: string; code: string; statusCode: number; userPresentableMessage: string }): GraphQLError {
  return new GraphQLError(message, { extensions: { ...ext, userError: true, meta: {} } });
}

const notFound = (entity: string) =>
  linearGraphQLError(`Entity not found: ${entity}`, {
    type: 'invalid input',
    code: 'INPUT_ERROR',
    statusCode: 400,
    userPresentableMessage: `Could not find referenced ${entity}.`,
  });

const invalidInput = (message: string) => linearGraphQLError(message, { type: 'invalid input', code: 'INPUT_ERROR', statusCode: 400, userPresentableMessage: message });

const forbidden = (message: string) => linearGraphQLError(message, { type: 'forbidden', code: 'FORBIDDEN', statusCode: 403, userPresentableMessage: message });

const EPOCH = new Date(0).toISOString();

function defaultFor(type: GraphQLOutputType): unknown {
  if (!isNonNullType(type)) return null;
  const inner = type.ofType;
  if (isListType(inner)) return [];
  if (isEnumType(inner)) return inner.getValues()[0]?.value ?? null;
  if (isScalarType(inner)) {
    switch (inner.name) {
      case 'Boolean':
        return false;
      case 'Int':
      case 'Float':
        return 0;
      case 'DateTime':
        return EPOCH;
      case 'TimelessDate':
        return EPOCH.slice(0, 10);
      case 'JSON':
      case 'JSONObject':
        return {};
      default:
        return '';
    }
  }
  return {};
}

export const fieldResolver: GraphQLFieldResolver<unknown, EmulatorContext> = (source, args, ctx, info) => {
  const value = defaultFieldResolver(source, args, ctx, info);
  return value === undefined ? defaultFor(info.returnType) : value;
};

/** Unions and interfaces: the view's `__typename`, else the first possible type (for defaulted objects). */
export const typeResolver: GraphQLTypeResolver<unknown, EmulatorContext> = (value, _ctx, info, abstractType) => {
  const named = (value as View | null)?.__typename;
  return typeof named === 'string' ? named : info.schema.getPossibleTypes(abstractType)[0]?.name;
};

// ---- filters and connections ----------------------------------------------------------------------

const COMPARATORS = new Set(['eq', 'neq', 'in', 'nin', 'eqIgnoreCase', 'neqIgnoreCase', 'contains', 'containsIgnoreCase', 'startsWith', 'endsWith', 'null']);

function compare(value: unknown, comparator: Args): boolean {
  const str = value == null ? value : String(value);
  const lower = typeof str === 'string' ? str.toLowerCase() : str;
  for (const [op, arg] of Object.entries(comparator)) {
    if (arg === undefined) continue;
    const a = arg as never;
    const ok =
      op === 'eq' ? value === a || str === a
      : op === 'neq' ? value !== a && str !== a
      : op === 'in' ? (a as unknown[]).includes(value) || (a as unknown[]).includes(str)
      : op === 'nin' ? !(a as unknown[]).includes(value) && !(a as unknown[]).includes(str)
      : op === 'eqIgnoreCase' ? lower === String(a).toLowerCase()
      : op === 'neqIgnoreCase' ? lower !== String(a).toLowerCase()
      : op === 'contains' ? typeof str === 'string' && str.includes(a)
      : op === 'containsIgnoreCase' ? typeof lower === 'string' && lower.includes(String(a).toLowerCase())
      : op === 'startsWith' ? typeof str === 'string' && str.startsWith(a)
      : op === 'endsWith' ? typeof str === 'string' && str.endsWith(a)
      : op === 'null' ? (value == null) === a
      : true;
    if (!ok) return false;
  }
  return true;
}

/** Linear-style filters over a view: `{ email: { eq } }`, `{ team: { key: { eq } } }`, `and` / `or`. Unknown keys match. */
function matches(view: View, filter: Args | undefined, ctx: EmulatorContext): boolean {
  if (!filter) return true;
  for (const [key, cond] of Object.entries(filter)) {
    if (cond == null) continue;
    if (key === 'and') {
      if (!(cond as Args[]).every((f) => matches(view, f, ctx))) return false;
      continue;
    }
    if (key === 'or') {
      if (!(cond as Args[]).some((f) => matches(view, f, ctx))) return false;
      continue;
    }
    if (!(key in view)) continue;
    let value = view[key];
    if (typeof value === 'function') value = (value as (a: Args, c: EmulatorContext) => unknown)({}, ctx);
    const c = cond as Args;
    if (Object.keys(c).some((k) => COMPARATORS.has(k))) {
      if (!compare(value, c)) return false;
    } else if (value && typeof value === 'object') {
      if (!matches(value as View, c, ctx)) return false;
    } else if (!('null' in c)) {
      return false;
    }
  }
  return true;
}

function connection(views: View[], args: Args, ctx: EmulatorContext): View {
  let nodes = views.filter((v) => matches(v, args.filter as Args | undefined, ctx));
  const cursorIndex = (c: unknown) => nodes.findIndex((n) => n.id === c);
  if (typeof args.after === 'string') nodes = nodes.slice(cursorIndex(args.after) + 1);
  if (typeof args.before === 'string') {
    const i = cursorIndex(args.before);
    if (i >= 0) nodes = nodes.slice(0, i);
  }
  const total = nodes.length;
  const first = typeof args.first === 'number' ? args.first : undefined;
  const last = typeof args.last === 'number' ? args.last : undefined;
  if (first === undefined && last === undefined) nodes = nodes.slice(0, 50);
  if (first !== undefined) nodes = nodes.slice(0, first);
  if (last !== undefined) nodes = nodes.slice(Math.max(0, nodes.length - last));
  return {
    nodes,
    edges: nodes.map((node) => ({ node, cursor: node.id })),
    pageInfo: {
      hasNextPage: first !== undefined ? total > nodes.length : false,
      hasPreviousPage: last !== undefined ? total > nodes.length : false,
      startCursor: nodes[0]?.id ?? null,
      endCursor: nodes.at(-1)?.id ?? null,
    },
  };
}

// ---- views --------------------------------------------------------------------------------------

export function createRootValue(state: LinearEmulatorState): View {
  const byCreated = <T extends { createdAt: string }>(xs: T[]) => [...xs].sort((a, b) => a.createdAt.localeCompare(b.createdAt));

  const org = (): View => ({
    ...state.organization,
    users: (a: Args, c: EmulatorContext) => connection([...state.users.values()].map(user), a, c),
    teams: (a: Args, c: EmulatorContext) => connection([...state.teams.values()].map(team), a, c),
    labels: (a: Args, c: EmulatorContext) => connection([...state.labels.values()].map(label), a, c),
    createdAt: EPOCH,
    updatedAt: EPOCH,
  });

  const user = (u: EmUser): View => ({
    ...u,
    url: `https://linear.app/${state.organization.urlKey}/profiles/${u.displayName}`,
    isMe: (_a: Args, c: EmulatorContext) => c.viewer.id === u.id,
    organization: org,
    updatedAt: u.createdAt,
  });

  const team = (t: EmTeam): View => ({
    id: t.id,
    key: t.key,
    name: t.name,
    organization: org,
    states: (a: Args, c: EmulatorContext) => connection(state.teamStates(t.id).map(workflowState), a, c),
    issues: (a: Args, c: EmulatorContext) => connection(byCreated([...state.issues.values()].filter((i) => i.teamId === t.id)).map(issue), a, c),
    labels: (a: Args, c: EmulatorContext) => connection([...state.labels.values()].filter((l) => l.teamId === t.id).map(label), a, c),
    createdAt: EPOCH,
    updatedAt: EPOCH,
  });

  const workflowState = (s: EmWorkflowState): View => ({
    id: s.id,
    name: s.name,
    type: s.type,
    position: s.position,
    color: s.color,
    description: null,
    team: () => team(state.teams.get(s.teamId)!),
    createdAt: EPOCH,
    updatedAt: EPOCH,
  });

  const project = (p: EmProject): View => ({
    id: p.id,
    name: p.name,
    description: p.description,
    slugId: p.slugId,
    state: p.state,
    url: `https://linear.app/${state.organization.urlKey}/project/${p.slugId}`,
    teams: (a: Args, c: EmulatorContext) => connection(p.teamIds.flatMap((id) => (state.teams.has(id) ? [team(state.teams.get(id)!)] : [])), a, c),
    issues: (a: Args, c: EmulatorContext) => connection(byCreated([...state.issues.values()].filter((i) => i.projectId === p.id)).map(issue), a, c),
    createdAt: p.createdAt,
    updatedAt: p.createdAt,
  });

  const label = (l: EmLabel): View => ({
    id: l.id,
    name: l.name,
    color: l.color,
    isGroup: false,
    team: () => (l.teamId && state.teams.has(l.teamId) ? team(state.teams.get(l.teamId)!) : null),
    createdAt: l.createdAt,
    updatedAt: l.createdAt,
  });

  const reaction = (r: EmReaction): View => ({
    id: r.id,
    emoji: r.emoji,
    createdAt: r.createdAt,
    updatedAt: r.createdAt,
    user: () => (state.users.has(r.userId) ? user(state.users.get(r.userId)!) : null),
    issue: () => (r.issueId && state.issues.has(r.issueId) ? issue(state.issues.get(r.issueId)!) : null),
    comment: () => (r.commentId && state.comments.has(r.commentId) ? comment(state.comments.get(r.commentId)!) : null),
  });

  const comment = (c: EmComment): View => ({
    id: c.id,
    body: c.body,
    createdAt: c.createdAt,
    updatedAt: c.updatedAt,
    url: `${state.issueUrl(state.issues.get(c.issueId)!)}#comment-${c.id.slice(0, 8)}`,
    user: () => (c.userId && state.users.has(c.userId) ? user(state.users.get(c.userId)!) : null),
    issue: () => (state.issues.has(c.issueId) ? issue(state.issues.get(c.issueId)!) : null),
    parent: () => (c.parentId && state.comments.has(c.parentId) ? comment(state.comments.get(c.parentId)!) : null),
    reactions: () => state.reactionsOn({ commentId: c.id }).map(reaction),
  });

  const issue = (i: EmIssue): View => ({
    id: i.id,
    number: i.number,
    identifier: i.identifier,
    title: i.title,
    description: i.description ?? null,
    url: state.issueUrl(i),
    priority: 0,
    createdAt: i.createdAt,
    updatedAt: i.updatedAt,
    labelIds: i.labelIds,
    team: () => team(state.teams.get(i.teamId)!),
    state: () => workflowState(state.workflowStates.get(i.stateId)!),
    project: () => (i.projectId && state.projects.has(i.projectId) ? project(state.projects.get(i.projectId)!) : null),
    creator: () => (i.creatorId && state.users.has(i.creatorId) ? user(state.users.get(i.creatorId)!) : null),
    assignee: () => (i.assigneeId && state.users.has(i.assigneeId) ? user(state.users.get(i.assigneeId)!) : null),
    delegate: () => (i.delegateId && state.users.has(i.delegateId) ? user(state.users.get(i.delegateId)!) : null),
    labels: (a: Args, c: EmulatorContext) => connection(i.labelIds.flatMap((id) => (state.labels.has(id) ? [label(state.labels.get(id)!)] : [])), a, c),
    comments: (a: Args, c: EmulatorContext) => connection(byCreated(state.commentsOn(i.id)).map(comment), a, c),
    reactions: () => byCreated(state.reactionsOn({ issueId: i.id })).map(reaction),
  });

  const activityContent = (a: EmAgentActivity): View => {
    const type = String(a.content.type);
    const typename = `AgentActivity${type.charAt(0).toUpperCase()}${type.slice(1)}Content`;
    return { ...a.content, __typename: typename, bodyData: {} };
  };

  const activity = (a: EmAgentActivity): View => ({
    id: a.id,
    content: () => activityContent(a),
    signal: a.signal ?? null,
    signalMetadata: a.signalMetadata ?? null,
    ephemeral: a.ephemeral,
    createdAt: a.createdAt,
    updatedAt: a.createdAt,
    user: () => user(state.users.get(a.userId)!),
    agentSession: () => agentSession(state.agentSessions.get(a.agentSessionId)!),
  });

  const agentSession = (s: EmAgentSession): View => ({
    id: s.id,
    status: s.status,
    externalLink: s.externalLink ?? null,
    externalUrls: s.externalUrls,
    plan: s.plan ?? null,
    createdAt: s.createdAt,
    updatedAt: s.updatedAt,
    issue: () => (s.issueId && state.issues.has(s.issueId) ? issue(state.issues.get(s.issueId)!) : null),
    comment: () => (s.commentId && state.comments.has(s.commentId) ? comment(state.comments.get(s.commentId)!) : null),
    appUser: () => user(state.users.get(s.appUserId)!),
    creator: () => (s.creatorId && state.users.has(s.creatorId) ? user(state.users.get(s.creatorId)!) : null),
    activities: (a: Args, c: EmulatorContext) => connection(byCreated(state.activitiesOf(s.id)).map(activity), a, c),
  });

  const find = <T>(map: Map<string, T>, id: unknown, entity: string): T => {
    const found = map.get(String(id));
    if (!found) throw notFound(entity);
    return found;
  };
  const findIssue = (id: unknown): EmIssue => {
    const found = state.findIssue(String(id));
    if (!found) throw notFound('Issue');
    return found;
  };
  const list = <T>(map: Map<string, T>, view: (t: T) => View) => (a: Args, c: EmulatorContext) => connection([...map.values()].map(view), a, c);

  const ACTIVITY_STATUS: Record<string, EmAgentSession['status']> = { thought: 'active', action: 'active', elicitation: 'awaitingInput', response: 'complete', error: 'error' };

  return {
    // queries
    viewer: (_a: Args, c: EmulatorContext) => user(c.viewer),
    organization: org,
    user: (a: Args) => user(find(state.users, a.id, 'User')),
    users: list(state.users, user),
    team: (a: Args) => team(find(state.teams, a.id, 'Team')),
    teams: list(state.teams, team),
    workflowState: (a: Args) => workflowState(find(state.workflowStates, a.id, 'WorkflowState')),
    workflowStates: list(state.workflowStates, workflowState),
    project: (a: Args) => project(find(state.projects, a.id, 'Project')),
    projects: list(state.projects, project),
    issueLabel: (a: Args) => label(find(state.labels, a.id, 'IssueLabel')),
    issueLabels: list(state.labels, label),
    issue: (a: Args) => issue(findIssue(a.id)),
    issues: (a: Args, c: EmulatorContext) => connection(byCreated([...state.issues.values()]).map(issue), a, c),
    comment: (a: Args) => comment(find(state.comments, a.id, 'Comment')),
    comments: (a: Args, c: EmulatorContext) => connection(byCreated([...state.comments.values()]).map(comment), a, c),
    agentSession: (a: Args) => agentSession(find(state.agentSessions, a.id, 'AgentSession')),
    agentSessions: list(state.agentSessions, agentSession),
    agentActivity: (a: Args) => activity(find(state.agentActivities, a.id, 'AgentActivity')),

    // mutations
    commentCreate: ({ input }: { input: Args }, c: EmulatorContext) => {
      if (typeof input.issueId !== 'string') throw invalidInput('issueId is required (the emulator keeps issue comments only)');
      if (typeof input.body !== 'string' || !input.body.trim()) throw invalidInput('Comment body must not be empty');
      const target = findIssue(input.issueId);
      const created = state.addComment({
        id: typeof input.id === 'string' ? input.id : undefined,
        issueId: target.id,
        body: input.body,
        userId: c.viewer.id,
        parentId: typeof input.parentId === 'string' ? input.parentId : undefined,
      });
      return { success: true, lastSyncId: state.nextSyncId(), comment: comment(created) };
    },
    reactionCreate: ({ input }: { input: Args }, c: EmulatorContext) => {
      const issueId = typeof input.issueId === 'string' ? findIssue(input.issueId).id : undefined;
      const commentId = typeof input.commentId === 'string' ? find(state.comments, input.commentId, 'Comment').id : undefined;
      if (!issueId && !commentId) throw invalidInput('A reaction needs an issueId or a commentId');
      const created = state.addReaction({ id: typeof input.id === 'string' ? input.id : undefined, issueId, commentId, emoji: String(input.emoji), userId: c.viewer.id });
      return { success: true, lastSyncId: state.nextSyncId(), reaction: reaction(created) };
    },
    reactionDelete: ({ id }: { id: string }, c: EmulatorContext) => {
      const r = find(state.reactions, id, 'Reaction');
      if (r.userId !== c.viewer.id) throw forbidden('You can only remove your own reactions');
      state.reactions.delete(r.id);
      return { success: true, lastSyncId: state.nextSyncId(), entityId: r.id };
    },
    issueUpdate: ({ id, input }: { id: string; input: Args }) => {
      const target = findIssue(id);
      if (typeof input.stateId === 'string') {
        const s = state.workflowStates.get(input.stateId);
        if (!s || s.teamId !== target.teamId) throw invalidInput("stateId must be a workflow state of the issue's team");
        target.stateId = s.id;
      }
      if (typeof input.title === 'string') target.title = input.title;
      if (typeof input.description === 'string') target.description = input.description;
      if (typeof input.projectId === 'string') target.projectId = find(state.projects, input.projectId, 'Project').id;
      if (typeof input.assigneeId === 'string') target.assigneeId = find(state.users, input.assigneeId, 'User').id;
      if (typeof input.delegateId === 'string') target.delegateId = find(state.users, input.delegateId, 'User').id;
      const labelIds = (ids: unknown) => (ids as string[]).map((l) => find(state.labels, l, 'IssueLabel').id);
      if (Array.isArray(input.labelIds)) target.labelIds = labelIds(input.labelIds);
      if (Array.isArray(input.addedLabelIds)) target.labelIds = [...new Set([...target.labelIds, ...labelIds(input.addedLabelIds)])];
      if (Array.isArray(input.removedLabelIds)) target.labelIds = target.labelIds.filter((l) => !(input.removedLabelIds as string[]).includes(l));
      target.updatedAt = state.now();
      return { success: true, lastSyncId: state.nextSyncId(), issue: issue(target) };
    },
    agentActivityCreate: ({ input }: { input: Args }, c: EmulatorContext) => {
      const session = find(state.agentSessions, input.agentSessionId, 'AgentSession');
      if (session.appUserId !== c.viewer.id) throw forbidden('Only the agent the session belongs to can add activities to it');
      const content = input.content as Args;
      const type = content?.type;
      // `prompt` activities come from people (Linear's UI), never from the agent.
      if (!['thought', 'action', 'elicitation', 'response', 'error'].includes(String(type))) throw invalidInput('content.type must be thought, action, elicitation, response or error');
      if (type === 'action' ? typeof content.action !== 'string' || typeof content.parameter !== 'string' || (content.result !== undefined && typeof content.result !== 'string') : typeof content.body !== 'string' || !content.body.trim()) {
        throw invalidInput(type === 'action' ? 'An action activity needs action and parameter (and a string result, if any)' : `A ${String(type)} activity needs a body`);
      }
      if (input.ephemeral === true && type !== 'thought' && type !== 'action') throw invalidInput('Only thought and action activities can be ephemeral');
      const created: EmAgentActivity = {
        id: typeof input.id === 'string' ? input.id : randomUUID(),
        agentSessionId: session.id,
        userId: c.viewer.id,
        content,
        signal: typeof input.signal === 'string' ? input.signal : undefined,
        signalMetadata: input.signalMetadata as Args | undefined,
        ephemeral: input.ephemeral === true,
        createdAt: state.now(),
      };
      state.agentActivities.set(created.id, created);
      session.status = ACTIVITY_STATUS[String(type)] ?? session.status;
      session.updatedAt = created.createdAt;
      return { success: true, lastSyncId: state.nextSyncId(), agentActivity: activity(created) };
    },
    agentSessionUpdate: ({ id, input }: { id: string; input: Args }, c: EmulatorContext) => {
      const session = find(state.agentSessions, id, 'AgentSession');
      if (session.appUserId !== c.viewer.id) throw forbidden('Only the agent the session belongs to can update it');
      if (typeof input.externalLink === 'string') session.externalLink = input.externalLink;
      if ('plan' in input) session.plan = input.plan;
      type Url = { label: string; url: string };
      if (Array.isArray(input.externalUrls)) session.externalUrls = input.externalUrls as Url[];
      if (Array.isArray(input.addedExternalUrls)) session.externalUrls = [...session.externalUrls, ...(input.addedExternalUrls as Url[])];
      if (Array.isArray(input.removedExternalUrls)) session.externalUrls = session.externalUrls.filter((u) => !(input.removedExternalUrls as string[]).includes(u.url));
      session.updatedAt = state.now();
      return { success: true, lastSyncId: state.nextSyncId(), agentSession: agentSession(session) };
    },
  };
}
