import { createHmac, randomUUID } from 'node:crypto';
import type { EmAgentActivity, EmAgentSession, EmComment, EmIssue, EmUser, LinearEmulatorState } from './state.js';

/**
 * Linear's `AgentSessionEvent` webhooks as Linear sends them (`AgentSessionEventWebhookPayload` in the schema),
 * built over the emulator's state so the session they name exists there: `created` when a person delegates an
 * issue to the agent or mentions it, `prompted` when they reply in the session or press stop. Test support only.
 */

export type AgentSessionWebhook = Record<string, unknown> & { type: 'AgentSessionEvent'; action: 'created' | 'prompted'; webhookTimestamp: number };

export const OAUTH_CLIENT_ID = 'emulated-oauth-client';

export interface SessionCreatedOptions {
  issue: EmIssue;
  /** The person who delegated or mentioned; `null` for a session without a human creator. Default: the seeded person. */
  creator?: EmUser | null;
  /** The agent's app user. Default: the seeded viewer (bgagent). */
  appUser?: EmUser;
  /** The comment that mentioned the agent, for an @mention. */
  comment?: EmComment;
  /** Default: Linear's formatted issue context. */
  promptContext?: string;
  webhookTimestamp?: number;
}

/** A new session in the emulator and its `created` webhook. */
export function agentSessionCreated(state: LinearEmulatorState, o: SessionCreatedOptions): { session: EmAgentSession; payload: AgentSessionWebhook } {
  const appUser = o.appUser ?? state.defaults.viewer;
  const creator = o.creator === undefined ? state.defaults.human : o.creator;
  const session = state.addAgentSession({ issueId: o.issue.id, commentId: o.comment?.id, appUserId: appUser.id, creatorId: creator?.id });
  const payload = envelope(state, 'created', appUser, o.webhookTimestamp, {
    agentSession: sessionPayload(state, session, o.issue, creator ?? undefined, o.comment),
    promptContext: o.promptContext ?? promptContext(state, o.issue, o.comment),
    previousComments: [],
    guidance: [],
  });
  return { session, payload };
}

export interface SessionPromptedOptions {
  body: string;
  /** `stop` when the person pressed stop. */
  signal?: 'stop';
  /** Who replied. Default: the session's creator, else the seeded person. */
  user?: EmUser;
  webhookTimestamp?: number;
}

/** A person's reply (a `prompt` activity) in the emulator and its `prompted` webhook. */
export function agentSessionPrompted(state: LinearEmulatorState, session: EmAgentSession, o: SessionPromptedOptions): { activity: EmAgentActivity; payload: AgentSessionWebhook } {
  const user = o.user ?? (session.creatorId ? state.users.get(session.creatorId) : undefined) ?? state.defaults.human;
  const activity: EmAgentActivity = {
    id: randomUUID(),
    agentSessionId: session.id,
    userId: user.id,
    content: { type: 'prompt', body: o.body },
    signal: o.signal,
    ephemeral: false,
    createdAt: state.now(),
  };
  state.agentActivities.set(activity.id, activity);
  const issue = session.issueId ? state.issues.get(session.issueId) : undefined;
  const creator = session.creatorId ? state.users.get(session.creatorId) : undefined;
  const appUser = state.users.get(session.appUserId)!;
  const payload = envelope(state, 'prompted', appUser, o.webhookTimestamp, {
    agentSession: sessionPayload(state, session, issue, creator, session.commentId ? state.comments.get(session.commentId) : undefined),
    agentActivity: {
      id: activity.id,
      agentSessionId: session.id,
      content: activity.content,
      signal: o.signal ?? null,
      signalMetadata: null,
      sourceCommentId: null,
      createdAt: activity.createdAt,
      updatedAt: activity.createdAt,
      userId: user.id,
      user: userPayload(state, user),
    },
  });
  return { activity, payload };
}

/** Linear-Signature: lowercase hex HMAC-SHA256 of the raw body with the webhook's signing secret. */
export function signWebhookBody(body: string, secret: string): string {
  return createHmac('sha256', secret).update(body).digest('hex');
}

function envelope(state: LinearEmulatorState, action: 'created' | 'prompted', appUser: EmUser, webhookTimestamp: number | undefined, rest: Record<string, unknown>): AgentSessionWebhook {
  return {
    type: 'AgentSessionEvent',
    action,
    createdAt: new Date().toISOString(),
    organizationId: state.organization.id,
    oauthClientId: OAUTH_CLIENT_ID,
    appUserId: appUser.id,
    webhookId: 'wh-agent-sessions',
    webhookTimestamp: webhookTimestamp ?? Date.now(),
    ...rest,
  };
}

function sessionPayload(state: LinearEmulatorState, s: EmAgentSession, issue: EmIssue | undefined, creator: EmUser | undefined, comment: EmComment | undefined): Record<string, unknown> {
  const team = issue ? state.teams.get(issue.teamId) : undefined;
  return {
    id: s.id,
    appUserId: s.appUserId,
    organizationId: state.organization.id,
    status: s.status,
    type: 'commentThread',
    createdAt: s.createdAt,
    updatedAt: s.updatedAt,
    url: issue ? `${state.issueUrl(issue)}#agent-session-${s.id.slice(0, 8)}` : null,
    issueId: issue?.id ?? null,
    issue: issue
      ? {
          id: issue.id,
          identifier: issue.identifier,
          title: issue.title,
          description: issue.description ?? null,
          url: state.issueUrl(issue),
          teamId: issue.teamId,
          team: team ? { id: team.id, key: team.key, name: team.name } : null,
        }
      : null,
    commentId: comment?.id ?? null,
    comment: comment ? { id: comment.id, body: comment.body, issueId: comment.issueId, userId: comment.userId ?? null } : null,
    creatorId: creator?.id ?? null,
    creator: creator ? userPayload(state, creator) : null,
  };
}

function userPayload(state: LinearEmulatorState, u: EmUser): Record<string, unknown> {
  return { id: u.id, name: u.name, email: u.email, avatarUrl: null, url: `https://linear.app/${state.organization.urlKey}/profiles/${u.displayName}` };
}

/** Linear's formatted context: the issue, and the mentioning comment when there is one. */
function promptContext(state: LinearEmulatorState, issue: EmIssue, comment: EmComment | undefined): string {
  const team = state.teams.get(issue.teamId);
  const lines = [
    `<issue identifier="${issue.identifier}">`,
    `<title>${issue.title}</title>`,
    ...(issue.description ? [`<description>${issue.description}</description>`] : []),
    ...(team ? [`<team name="${team.name}"/>`] : []),
    '</issue>',
  ];
  if (comment) lines.push(`<primary-directive-thread comment-id="${comment.id}">`, `<comment author="${state.users.get(comment.userId ?? '')?.name ?? 'someone'}">${comment.body}</comment>`, '</primary-directive-thread>');
  return lines.join('\n');
}
