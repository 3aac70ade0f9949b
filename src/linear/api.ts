import type { LinearClient } from './client.js';
import {
  AgentActivityCreate,
  AgentSessionUpdate,
  CommentCreate,
  IssueContext,
  IssueReactions,
  IssueUpdateState,
  ProjectById,
  ReactionCreate,
  ReactionDelete,
  UserByEmail,
  UserById,
  Viewer,
  type AgentActivityCreateInput,
  type AgentSessionUpdateInput,
  type IssueContextResult,
  type LinearProject,
  type LinearUser,
  type LinearWorkflowState,
  type ViewerResult,
} from './documents.js';
import { LinearApiError } from './errors.js';

/** The Linear operations bgagent performs, one call each. Errors are the client's typed errors. */

export type LinearViewer = ViewerResult['viewer'];
export type LinearIssueContext = IssueContextResult['issue'];

export interface LinearReaction {
  id: string;
  emoji: string;
  createdAt: string;
  /** Null for reactions from external users. */
  userId: string | null;
}

/** Who the token belongs to, and its workspace. */
export async function getViewer(client: LinearClient): Promise<LinearViewer> {
  return (await client.request(Viewer, {})).viewer;
}

/** Title, body, team states, project, labels and the last 20 comments. `id` may be the UUID or the identifier (`ENG-12`). */
export async function getIssueContext(client: LinearClient, issueId: string): Promise<LinearIssueContext> {
  return (await client.request(IssueContext, { id: issueId })).issue;
}

export async function postComment(client: LinearClient, issueId: string, body: string): Promise<{ id: string; url: string }> {
  return (await client.request(CommentCreate, { issueId, body })).commentCreate.comment;
}

export async function addReaction(client: LinearClient, issueId: string, emoji: string): Promise<{ id: string; emoji: string }> {
  return (await client.request(ReactionCreate, { issueId, emoji })).reactionCreate.reaction;
}

export async function removeReaction(client: LinearClient, reactionId: string): Promise<boolean> {
  return (await client.request(ReactionDelete, { id: reactionId })).reactionDelete.success;
}

export async function listIssueReactions(client: LinearClient, issueId: string): Promise<LinearReaction[]> {
  const { issue } = await client.request(IssueReactions, { id: issueId });
  return issue.reactions.map((r) => ({ id: r.id, emoji: r.emoji, createdAt: r.createdAt, userId: r.user?.id ?? null }));
}

/** Returns the issue's state after the update. */
export async function moveIssueToState(client: LinearClient, issueId: string, stateId: string): Promise<LinearWorkflowState | undefined> {
  return (await client.request(IssueUpdateState, { id: issueId, stateId })).issueUpdate.issue?.state;
}

/** Undefined when Linear does not know the project. */
export async function getProject(client: LinearClient, projectId: string): Promise<LinearProject | undefined> {
  return orUndefinedIfNotFound(async () => (await client.request(ProjectById, { id: projectId })).project);
}

/** By email (case-insensitive) when the argument has an `@`, else by id. Undefined when there is no such user. */
export async function findUser(client: LinearClient, idOrEmail: string): Promise<LinearUser | undefined> {
  if (idOrEmail.includes('@')) return (await client.request(UserByEmail, { email: idOrEmail })).users.nodes[0];
  return orUndefinedIfNotFound(async () => (await client.request(UserById, { id: idOrEmail })).user);
}

export async function createAgentActivity(client: LinearClient, input: AgentActivityCreateInput): Promise<{ id: string }> {
  return (await client.request(AgentActivityCreate, { input })).agentActivityCreate.agentActivity;
}

export async function updateAgentSession(client: LinearClient, agentSessionId: string, input: AgentSessionUpdateInput): Promise<{ id: string; status: string; externalLink: string | null }> {
  return (await client.request(AgentSessionUpdate, { id: agentSessionId, input })).agentSessionUpdate.agentSession;
}

async function orUndefinedIfNotFound<T>(fn: () => Promise<T>): Promise<T | undefined> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof LinearApiError && err.notFound) return undefined;
    throw err;
  }
}
