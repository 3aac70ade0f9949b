import { describe, expect, it } from 'vitest';
import { enqueue, type SessionActivity } from '../../src/linear/sessions/activity-stream.js';
import { SessionIssue, SessionStarted } from '../../src/linear/sessions/documents.js';
import { describeTool } from '../../src/linear/sessions/session-channel.js';
import { repoNamedIn } from '../../src/linear/sessions/session-events.js';
import { dedupeKey, webhookEnvelopeSchema } from '../../src/linear/webhook.js';
import { validateAgainstLinearSchema } from '../support/linear/schema.js';

describe("the agent session's documents against Linear's schema", () => {
  it.each(Object.entries({ SessionIssue, SessionStarted }))('%s is a valid named operation', (name, doc) => {
    expect(validateAgainstLinearSchema(doc.query).map((e) => e.message)).toEqual([]);
    expect(doc.operationName).toBe(name);
  });
});

const tool = (text: string): SessionActivity => ({ kind: 'step', content: { type: 'action', action: 'Running', parameter: text, result: 'ok' }, fold: { category: 'tool', text: `Running ${text}`, result: 'ok' } });
const sign = (body: string): SessionActivity => ({ kind: 'transient', ephemeral: true, content: { type: 'thought', body } });
const final: SessionActivity = { kind: 'final', content: { type: 'response', body: 'done' } };

describe('coalescing a session’s waiting activities', () => {
  it('drops an in-progress sign as soon as anything follows it', () => {
    const q: SessionActivity[] = [];
    enqueue(q, sign('line 1'), 5);
    enqueue(q, sign('line 2'), 5);
    expect(q.map((a) => (a.content as { body: string }).body)).toEqual(['line 2']);
    enqueue(q, tool('ls'), 5);
    expect(q).toEqual([tool('ls')]);
  });

  it('keeps steps in order, folds them past the backlog bound, and never folds or drops the final one', () => {
    const q: SessionActivity[] = [];
    for (let i = 0; i < 50; i++) {
      enqueue(q, sign(`running ${i}`), 5);
      enqueue(q, tool(`step-${i}`), 5);
    }
    expect(q.length).toBe(5);
    expect(q.slice(0, 4).map((a) => (a.content as { parameter: string }).parameter)).toEqual(['step-0', 'step-1', 'step-2', 'step-3']);
    const folded = q[4]!.content as { action: string; parameter: string; result?: string };
    expect(folded.action).toBe('Worked through');
    expect(folded.parameter.startsWith('Running step-4 · Running step-5')).toBe(true);
    expect(folded.parameter.length).toBeLessThanOrEqual(500);
    enqueue(q, sign('last line'), 5);
    enqueue(q, final, 5);
    expect(q.length).toBe(2);
    expect(q.at(-1)).toBe(final);
    expect((q[0]!.content as { parameter: string }).parameter.startsWith('Running step-0 · Running step-1')).toBe(true);
  });

  it('does not fold different kinds of steps together', () => {
    const q: SessionActivity[] = [];
    const note: SessionActivity = { kind: 'step', content: { type: 'thought', body: 'n' }, fold: { category: 'note', text: 'n' } };
    for (let i = 0; i < 6; i++) enqueue(q, i % 2 ? note : tool(String(i)), 3);
    expect(q.length).toBe(6);
  });
});

describe('how a tool call reads in Linear', () => {
  it('an action verb and its main parameter, even from a preview cut short', () => {
    expect(describeTool('Bash', '{"command":"npm test","description":"Run the tests"}')).toEqual({ action: 'Running', parameter: 'npm test' });
    expect(describeTool('Read', '{"file_path":"/w/src/a \\"x\\".ts"}')).toEqual({ action: 'Reading', parameter: '/w/src/a "x".ts' });
    expect(describeTool('Edit', '{"file_path":"/w/src/very-long-path-that-was-cut')).toEqual({ action: 'Editing', parameter: '/w/src/very-long-path-that-was-cut' });
    expect(describeTool('mcp__bgagent__get_task_context', '{}')).toEqual({ action: 'Calling get_task_context', parameter: 'mcp__bgagent__get_task_context' });
    expect(describeTool('Frobnicate', '{"level":3}')).toEqual({ action: 'Calling Frobnicate', parameter: '{"level":3}' });
  });
});

describe('the repository a reply names', () => {
  const repos = ['demo', 'acme/demo', 'acme/site'];
  it('the full name first, then a unique short name; nothing when unsure', () => {
    expect(repoNamedIn('Use acme/demo please.', repos)).toBe('acme/demo');
    expect(repoNamedIn('`demo`', repos)).toBe('demo');
    expect(repoNamedIn('site', repos)).toBe('acme/site');
    expect(repoNamedIn('Which one? not sure', repos)).toBeUndefined();
    expect(repoNamedIn('demo', ['acme/demo', 'other/demo'])).toBeUndefined();
  });
});

describe('deduplicating agent session webhooks', () => {
  const base = { type: 'AgentSessionEvent', webhookTimestamp: 1_700_000_000_000 };
  const key = (over: Record<string, unknown>) => dedupeKey(webhookEnvelopeSchema.parse({ ...base, ...over }));
  it('keys a created event by its session and a prompted one by its new activity, without the timestamp: a resend is the same event', () => {
    const created = key({ action: 'created', agentSession: { id: 's-1' } });
    const reply = key({ action: 'prompted', agentSession: { id: 's-1' }, agentActivity: { id: 'act-1' } });
    expect(created).toBe('AgentSessionEvent:s-1:created');
    expect(reply).toBe('AgentSessionEvent:act-1:prompted');
    expect(key({ action: 'created', agentSession: { id: 's-1' }, webhookTimestamp: 1_700_000_060_000 })).toBe(created);
    expect(key({ action: 'prompted', agentSession: { id: 's-1' }, agentActivity: { id: 'act-1' }, webhookTimestamp: 1_700_000_060_000 })).toBe(reply);
    const others = [key({ action: 'created', agentSession: { id: 's-2' } }), key({ action: 'prompted', agentSession: { id: 's-1' }, agentActivity: { id: 'act-2' } })];
    expect(new Set([created, reply, ...others]).size).toBe(4);
    expect(key({ type: 'Issue', action: 'update', data: { id: 'i-1' } })).toBe('Issue:i-1:update:1700000000000');
  });
});
