import { describe, expect, it } from 'vitest';
import { decideIssueTrigger } from '../../src/linear/trigger.js';
import type { WebhookEnvelope } from '../../src/linear/webhook.js';

const labels = [
  { id: 'l-bg', name: 'BGAgent' },
  { id: 'l-help', name: 'bgagent:help' },
  { id: 'l-bug', name: 'bug' },
];

function issueEvent(action: string, labelIds: string[], updatedFrom?: Record<string, unknown>): WebhookEnvelope {
  return {
    type: 'Issue',
    action,
    webhookTimestamp: Date.now(),
    organizationId: 'org',
    actor: { id: 'u1' },
    data: { id: 'issue-1', title: 'Fix it', labelIds, labels: labels.filter((l) => labelIds.includes(l.id)) },
    updatedFrom,
  };
}

describe('the label trigger', () => {
  it('fires on create with the label, case-insensitively', () => {
    expect(decideIssueTrigger(issueEvent('create', ['l-bg']), 'bgagent').kind).toBe('trigger');
  });

  it('fires on update only when the label was just added', () => {
    expect(decideIssueTrigger(issueEvent('update', ['l-bug', 'l-bg'], { labelIds: ['l-bug'] }), 'bgagent').kind).toBe('trigger');
    expect(decideIssueTrigger(issueEvent('update', ['l-bug', 'l-bg'], { labelIds: ['l-bug', 'l-bg'] }), 'bgagent').kind).toBe('ignore');
    // An update that touched something else (no updatedFrom.labelIds) never fires.
    expect(decideIssueTrigger(issueEvent('update', ['l-bg'], { title: 'old' }), 'bgagent').kind).toBe('ignore');
  });

  it('answers the help label and ignores other labels, types and actions', () => {
    expect(decideIssueTrigger(issueEvent('update', ['l-help'], { labelIds: [] }), 'bgagent').kind).toBe('help');
    expect(decideIssueTrigger(issueEvent('create', ['l-bug']), 'bgagent').kind).toBe('ignore');
    expect(decideIssueTrigger(issueEvent('remove', ['l-bg']), 'bgagent').kind).toBe('ignore');
    expect(decideIssueTrigger({ ...issueEvent('create', ['l-bg']), type: 'Comment' }, 'bgagent').kind).toBe('ignore');
  });

  it("uses the project's own label", () => {
    expect(decideIssueTrigger(issueEvent('create', ['l-bug']), 'Bug').kind).toBe('trigger');
    expect(decideIssueTrigger(issueEvent('create', ['l-bg']), 'bug').kind).toBe('ignore');
  });
});
