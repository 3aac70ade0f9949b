import type { LinearWorkflowState } from './documents.js';

/** How far along a workflow state type is. Linear orders states by type first, then by position. */
const TYPE_RANK: Record<string, number> = { triage: 0, backlog: 1, unstarted: 2, started: 3, completed: 4, canceled: 5 };

/** True when moving from `current` to `target` goes forward (never sideways, never back, never into an unknown type). */
export function isForward(current: LinearWorkflowState, target: LinearWorkflowState): boolean {
  const from = TYPE_RANK[current.type];
  const to = TYPE_RANK[target.type];
  if (from === undefined || to === undefined) return false;
  return to > from || (to === from && target.position > current.position);
}

/** The team's first `started` state named "In Progress", else its lowest-position `started` state. */
export function startedState(states: readonly LinearWorkflowState[]): LinearWorkflowState | undefined {
  const started = states.filter((s) => s.type === 'started').sort((a, b) => a.position - b.position);
  return started.find((s) => s.name.trim().toLowerCase() === 'in progress') ?? started[0];
}

/** The team's "In Review" state, if its workflow has one. */
export function reviewState(states: readonly LinearWorkflowState[]): LinearWorkflowState | undefined {
  return [...states].sort((a, b) => a.position - b.position).find((s) => s.name.trim().toLowerCase() === 'in review');
}

/** `target` when moving there is a step forward from `current`, else undefined. */
export function forwardMove(current: LinearWorkflowState, target: LinearWorkflowState | undefined): LinearWorkflowState | undefined {
  return target && target.id !== current.id && isForward(current, target) ? target : undefined;
}
