import { describe, expect, it } from 'vitest';
import { IssueLifecycle, TaskStarted, reactionsSweep, taskFinished } from '../../src/linear/lifecycle-documents.js';
import { forwardMove, reviewState, startedState } from '../../src/linear/lifecycle-states.js';
import { validateAgainstLinearSchema } from '../support/linear/schema.js';

describe("the lifecycle's folded documents against Linear's schema", () => {
  const shapes = {
    IssueLifecycle,
    TaskStarted,
    'TaskFinished with no reaction to remove': taskFinished([]).document,
    'TaskFinished removing two': taskFinished(['a', 'b']).document,
    'ReactionsSweep of one': reactionsSweep(['a']).document,
    'ReactionsSweep of three': reactionsSweep(['a', 'b', 'c']).document,
  };
  it.each(Object.entries(shapes))('%s is valid', (_, doc) => {
    expect(validateAgainstLinearSchema(doc.query).map((e) => e.message)).toEqual([]);
  });

  it('names one variable per reaction to remove', () => {
    expect(taskFinished(['a', 'b']).removals).toEqual({ r0: 'a', r1: 'b' });
    expect(reactionsSweep(['x']).variables).toEqual({ r0: 'x' });
  });
});

describe('which state the issue moves to', () => {
  const s = (name: string, type: string, position: number) => ({ id: name, name, type, position });
  const workflow = [s('Backlog', 'backlog', 0), s('Todo', 'unstarted', 1), s('Doing', 'started', 2), s('In Progress', 'started', 3), s('In Review', 'started', 4), s('Done', 'completed', 5)];

  it('prefers "In Progress", else the lowest-position started state, else none', () => {
    expect(startedState(workflow)?.name).toBe('In Progress');
    expect(startedState(workflow.filter((x) => x.name !== 'In Progress'))?.name).toBe('Doing');
    expect(startedState(workflow.filter((x) => x.type !== 'started'))).toBeUndefined();
    expect(reviewState(workflow.filter((x) => x.name !== 'In Review'))).toBeUndefined();
  });

  it('moves only forward: by type rank, then by position', () => {
    const [backlog, , doing, inProgress, inReview, done] = workflow;
    expect(forwardMove(backlog!, inProgress)?.name).toBe('In Progress');
    expect(forwardMove(doing!, inProgress)?.name).toBe('In Progress');
    expect(forwardMove(inReview!, inProgress)).toBeUndefined();
    expect(forwardMove(done!, inReview)).toBeUndefined();
    expect(forwardMove(s('Canceled', 'canceled', 9), inProgress)).toBeUndefined();
    expect(forwardMove(inProgress!, inProgress)).toBeUndefined();
    expect(forwardMove(s('Odd', 'unknown', 0), inProgress)).toBeUndefined();
  });
});
