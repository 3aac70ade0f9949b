import type { LinearDocument, LinearWorkflowState } from './documents.js';

/**
 * The few documents the task lifecycle sends. Each folds several steps into one request (GraphQL runs a
 * mutation's root fields in order), so a whole task stays within a handful of Linear API calls.
 * `test/linear/lifecycle.documents.test.ts` validates every shape against Linear's schema.
 */

const STATE_FIELDS = 'id name type position';

export interface IssueLifecycleResult {
  issue: {
    id: string;
    state: LinearWorkflowState;
    team: { states: { nodes: LinearWorkflowState[] } };
    reactions: Array<{ id: string; emoji: string; user: { id: string } | null }>;
  };
}

/** The issue's state, its team's workflow and its reactions: everything a lifecycle step decides on. */
export const IssueLifecycle: LinearDocument<IssueLifecycleResult, { id: string }> = {
  operationName: 'IssueLifecycle',
  query: `query IssueLifecycle($id: String!) {
  issue(id: $id) { id state { ${STATE_FIELDS} } team { states { nodes { ${STATE_FIELDS} } } } reactions { id emoji user { id } } }
}`,
};

export interface TaskStartedVariables {
  issueId: string;
  body: string;
  /** False leaves the state alone (`stateId` is then ignored). */
  move: boolean;
  stateId: string;
}

/** The "starting" comment and, when it is a step forward, the move to the started state. */
export const TaskStarted: LinearDocument<unknown, TaskStartedVariables> = {
  operationName: 'TaskStarted',
  query: `mutation TaskStarted($issueId: String!, $body: String!, $move: Boolean!, $stateId: String!) {
  commentCreate(input: { issueId: $issueId, body: $body }) { success }
  issueUpdate(id: $issueId, input: { stateId: $stateId }) @include(if: $move) { success }
}`,
};

export interface TaskFinishedVariables extends Record<string, unknown> {
  issueId: string;
  emoji: string;
  body: string;
  move: boolean;
  stateId: string;
}

/** Removes the given reactions (👀), adds the outcome reaction, moves the issue (optional) and posts the summary. */
export function taskFinished(removeReactionIds: readonly string[]): { document: LinearDocument<unknown, TaskFinishedVariables>; removals: Record<string, string> } {
  const { declarations, fields, removals } = reactionDeletes(removeReactionIds);
  return {
    removals,
    document: {
      operationName: 'TaskFinished',
      query: `mutation TaskFinished($issueId: String!, $emoji: String!, $body: String!, $move: Boolean!, $stateId: String!${declarations}) {
${fields}  reactionCreate(input: { issueId: $issueId, emoji: $emoji }) { success }
  issueUpdate(id: $issueId, input: { stateId: $stateId }) @include(if: $move) { success }
  commentCreate(input: { issueId: $issueId, body: $body }) { success }
}`,
    },
  };
}

/** Deletes reactions in one request. `reactionIds` must not be empty. */
export function reactionsSweep(reactionIds: readonly string[]): { document: LinearDocument<unknown, Record<string, string>>; variables: Record<string, string> } {
  const { declarations, fields, removals } = reactionDeletes(reactionIds);
  return {
    variables: removals,
    document: { operationName: 'ReactionsSweep', query: `mutation ReactionsSweep(${declarations.slice(2)}) {\n${fields}}` },
  };
}

function reactionDeletes(ids: readonly string[]): { declarations: string; fields: string; removals: Record<string, string> } {
  const removals: Record<string, string> = {};
  let declarations = '';
  let fields = '';
  ids.forEach((id, i) => {
    removals[`r${i}`] = id;
    declarations += `, $r${i}: String!`;
    fields += `  r${i}: reactionDelete(id: $r${i}) { success }\n`;
  });
  return { declarations, fields, removals };
}
