/**
 * Every GraphQL document bgagent sends to Linear, as named operations. A test validates each one against
 * Linear's schema (test/support/linear/schema.graphql), so a typo here fails the build, not production.
 */

/** A named GraphQL operation with the types of its variables and result. */
export interface LinearDocument<TResult = unknown, TVariables = Record<string, unknown>> {
  readonly operationName: string;
  readonly query: string;
  /** Type carriers only; never set. */
  readonly __result?: TResult;
  readonly __variables?: TVariables;
}

function operation<TResult, TVariables = Record<string, never>>(query: string): LinearDocument<TResult, TVariables> {
  const name = /^\s*(?:query|mutation)\s+([A-Za-z_][A-Za-z0-9_]*)/.exec(query)?.[1];
  if (!name) throw new Error('Linear documents must be named operations');
  return { operationName: name, query: query.trim() };
}

// ---- shared shapes --------------------------------------------------------------------------------

export type WorkflowStateType = 'triage' | 'backlog' | 'unstarted' | 'started' | 'completed' | 'canceled';

export interface LinearWorkflowState {
  id: string;
  name: string;
  /** One of `WorkflowStateType`; a string because Linear may add types. */
  type: string;
  position: number;
}

export interface LinearUser {
  id: string;
  name: string;
  displayName: string;
  email: string;
  active: boolean;
}

const USER_FIELDS = 'id name displayName email active';
const STATE_FIELDS = 'id name type position';

// ---- queries ----------------------------------------------------------------------------------------

export interface ViewerResult {
  viewer: LinearUser & { organization: { id: string; name: string; urlKey: string } };
}
export const Viewer = operation<ViewerResult>(`
query Viewer {
  viewer { ${USER_FIELDS} organization { id name urlKey } }
}`);

export interface IssueContextResult {
  issue: {
    id: string;
    identifier: string;
    title: string;
    description: string | null;
    url: string;
    state: LinearWorkflowState;
    team: { id: string; key: string; name: string; states: { nodes: LinearWorkflowState[] } };
    project: { id: string; name: string } | null;
    labels: { nodes: Array<{ id: string; name: string }> };
    comments: { nodes: Array<{ id: string; body: string; createdAt: string; user: { id: string; name: string } | null }> };
  };
}
export const IssueContext = operation<IssueContextResult, { id: string }>(`
query IssueContext($id: String!) {
  issue(id: $id) {
    id identifier title description url
    state { ${STATE_FIELDS} }
    team { id key name states { nodes { ${STATE_FIELDS} } } }
    project { id name }
    labels { nodes { id name } }
    comments(last: 20) { nodes { id body createdAt user { id name } } }
  }
}`);

export interface IssueReactionsResult {
  issue: { id: string; reactions: Array<{ id: string; emoji: string; createdAt: string; user: { id: string } | null }> };
}
export const IssueReactions = operation<IssueReactionsResult, { id: string }>(`
query IssueReactions($id: String!) {
  issue(id: $id) { id reactions { id emoji createdAt user { id } } }
}`);

export interface LinearProject {
  id: string;
  name: string;
  url: string;
  teams: { nodes: Array<{ id: string; key: string; name: string }> };
}
export interface ProjectByIdResult {
  project: LinearProject;
}
export const ProjectById = operation<ProjectByIdResult, { id: string }>(`
query ProjectById($id: String!) {
  project(id: $id) { id name url teams { nodes { id key name } } }
}`);

export interface UserByIdResult {
  user: LinearUser;
}
export const UserById = operation<UserByIdResult, { id: string }>(`
query UserById($id: String!) {
  user(id: $id) { ${USER_FIELDS} }
}`);

export interface UsersResult {
  users: { nodes: LinearUser[]; pageInfo: { hasNextPage: boolean; endCursor: string | null } };
}
export const UserByEmail = operation<UsersResult, { email: string }>(`
query UserByEmail($email: String!) {
  users(filter: { email: { eqIgnoreCase: $email } }, first: 1) { nodes { ${USER_FIELDS} } pageInfo { hasNextPage endCursor } }
}`);

export const Users = operation<UsersResult, { first?: number; after?: string | null }>(`
query Users($first: Int, $after: String) {
  users(first: $first, after: $after) { nodes { ${USER_FIELDS} } pageInfo { hasNextPage endCursor } }
}`);

// ---- mutations ------------------------------------------------------------------------------------

export interface CommentCreateResult {
  commentCreate: { success: boolean; comment: { id: string; url: string } };
}
export const CommentCreate = operation<CommentCreateResult, { issueId: string; body: string }>(`
mutation CommentCreate($issueId: String!, $body: String!) {
  commentCreate(input: { issueId: $issueId, body: $body }) { success comment { id url } }
}`);

export interface ReactionCreateResult {
  reactionCreate: { success: boolean; reaction: { id: string; emoji: string } };
}
export const ReactionCreate = operation<ReactionCreateResult, { issueId: string; emoji: string }>(`
mutation ReactionCreate($issueId: String!, $emoji: String!) {
  reactionCreate(input: { issueId: $issueId, emoji: $emoji }) { success reaction { id emoji } }
}`);

export interface ReactionDeleteResult {
  reactionDelete: { success: boolean; entityId: string };
}
export const ReactionDelete = operation<ReactionDeleteResult, { id: string }>(`
mutation ReactionDelete($id: String!) {
  reactionDelete(id: $id) { success entityId }
}`);

export interface IssueUpdateStateResult {
  issueUpdate: { success: boolean; issue: { id: string; state: LinearWorkflowState } | null };
}
export const IssueUpdateState = operation<IssueUpdateStateResult, { id: string; stateId: string }>(`
mutation IssueUpdateState($id: String!, $stateId: String!) {
  issueUpdate(id: $id, input: { stateId: $stateId }) { success issue { id state { ${STATE_FIELDS} } } }
}`);

// ---- agent sessions -------------------------------------------------------------------------------

export type AgentActivityContent =
  | { type: 'thought' | 'elicitation' | 'response' | 'error'; body: string }
  | { type: 'action'; action: string; parameter: string; result?: string };

export interface AgentActivityCreateInput {
  agentSessionId: string;
  content: AgentActivityContent;
  /** Shown until the next activity replaces it (in-progress actions). */
  ephemeral?: boolean;
  signal?: 'auth' | 'continue' | 'select' | 'stop';
  signalMetadata?: Record<string, unknown>;
}
export interface AgentActivityCreateResult {
  agentActivityCreate: { success: boolean; agentActivity: { id: string } };
}
export const AgentActivityCreate = operation<AgentActivityCreateResult, { input: AgentActivityCreateInput }>(`
mutation AgentActivityCreate($input: AgentActivityCreateInput!) {
  agentActivityCreate(input: $input) { success agentActivity { id } }
}`);

export interface AgentSessionUpdateInput {
  externalLink?: string;
  externalUrls?: Array<{ label: string; url: string }>;
  addedExternalUrls?: Array<{ label: string; url: string }>;
  plan?: Record<string, unknown>;
}
export interface AgentSessionUpdateResult {
  agentSessionUpdate: { success: boolean; agentSession: { id: string; status: string; externalLink: string | null } };
}
export const AgentSessionUpdate = operation<AgentSessionUpdateResult, { id: string; input: AgentSessionUpdateInput }>(`
mutation AgentSessionUpdate($id: String!, $input: AgentSessionUpdateInput!) {
  agentSessionUpdate(id: $id, input: $input) { success agentSession { id status externalLink } }
}`);
