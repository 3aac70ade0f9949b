import type { AgentSessionUpdateInput, LinearDocument, LinearWorkflowState } from '../documents.js';

/**
 * The documents an agent session sends besides `AgentActivityCreate` (in ../documents.ts).
 * `test/linear/sessions.documents.test.ts` validates them against Linear's schema.
 */

const STATE_FIELDS = 'id name type position';

export interface SessionIssueResult {
  issue: {
    id: string;
    identifier: string;
    title: string;
    url: string;
    state: LinearWorkflowState;
    team: { id: string; key: string; name: string; states: { nodes: LinearWorkflowState[] } };
    project: { id: string; name: string } | null;
  };
}

/** What picking the repository and moving the issue need: its project, its team, its state and the team's workflow. */
export const SessionIssue: LinearDocument<SessionIssueResult, { id: string }> = {
  operationName: 'SessionIssue',
  query: `query SessionIssue($id: String!) {
  issue(id: $id) { id identifier title url state { ${STATE_FIELDS} } team { id key name states { nodes { ${STATE_FIELDS} } } } project { id name } }
}`,
};

export interface SessionStartedVariables {
  issueId: string;
  /** False leaves the issue's state alone (`stateId` is then ignored). */
  move: boolean;
  stateId: string;
  sessionId: string;
  /** False leaves the session alone (`input` is then ignored). */
  link: boolean;
  input: AgentSessionUpdateInput;
}

/** In one request: the issue to its first started state and the session's link to the task's page, each optional. */
export const SessionStarted: LinearDocument<unknown, SessionStartedVariables> = {
  operationName: 'SessionStarted',
  query: `mutation SessionStarted($issueId: String!, $move: Boolean!, $stateId: String!, $sessionId: String!, $link: Boolean!, $input: AgentSessionUpdateInput!) {
  issueUpdate(id: $issueId, input: { stateId: $stateId }) @include(if: $move) { success }
  agentSessionUpdate(id: $sessionId, input: $input) @include(if: $link) { success }
}`,
};
