import { describe, expect, it } from 'vitest';
import * as documents from '../../src/linear/documents.js';
import type { LinearDocument } from '../../src/linear/documents.js';
import { validateAgainstLinearSchema } from '../support/linear/schema.js';

const isDocument = (v: unknown): v is LinearDocument => typeof v === 'object' && v !== null && 'query' in v && 'operationName' in v;
const exported = Object.entries(documents as Record<string, unknown>).flatMap(([name, v]) => (isDocument(v) ? [[name, v] as const] : []));

describe("bgagent's Linear documents against Linear's schema", () => {
  it('finds every document the module exports', () => {
    expect(exported.map(([name]) => name).sort()).toEqual(
      [
        'AgentActivityCreate',
        'AgentSessionUpdate',
        'CommentCreate',
        'IssueContext',
        'IssueReactions',
        'IssueUpdateState',
        'ProjectById',
        'ReactionCreate',
        'ReactionDelete',
        'UserByEmail',
        'UserById',
        'Users',
        'Viewer',
      ].sort(),
    );
  });

  it.each(exported)('%s is a valid named operation of the same name', (name, doc) => {
    expect(validateAgainstLinearSchema(doc.query).map((e) => e.message)).toEqual([]);
    expect(doc.operationName).toBe(name);
  });

  it('rejects a document with an unknown field, a wrong argument type or a syntax error', () => {
    const unknownField = validateAgainstLinearSchema('query Bad($id: String!) { issue(id: $id) { titel } }');
    expect(unknownField).toHaveLength(1);
    expect(unknownField[0]?.message).toMatch(/^Cannot query field "titel" on type "Issue"/);
    expect(validateAgainstLinearSchema('query Bad($id: Int!) { issue(id: $id) { id } }')[0]?.message).toMatch(/Variable "\$id" of type "Int!" used in position expecting type "String!"/);
    expect(validateAgainstLinearSchema('mutation Bad { reactionCreate(input: { issueId: "x" }) { success } }')[0]?.message).toMatch(/emoji/);
    expect(validateAgainstLinearSchema('query Bad { viewer { id }')[0]?.message).toMatch(/Syntax Error/);
  });
});
