import { z } from 'zod';
import type { WebhookEnvelope } from './webhook.js';

export const DEFAULT_TRIGGER_LABEL = 'bgagent';

const issueDataSchema = z.looseObject({
  id: z.string(),
  identifier: z.string().optional(),
  title: z.string().optional(),
  description: z.string().nullish(),
  url: z.string().optional(),
  teamId: z.string().optional(),
  projectId: z.string().nullish(),
  labelIds: z.array(z.string()).default([]),
  labels: z.array(z.looseObject({ id: z.string(), name: z.string() })).default([]),
});

export type IssueData = z.infer<typeof issueDataSchema>;

export type TriggerDecision =
  | { kind: 'ignore'; reason: string }
  | { kind: 'trigger'; issue: IssueData; label: string }
  | { kind: 'help'; issue: IssueData; label: string };

/** The labels (by name) that this event put on the issue: all of them on create, the new ones on update. */
export function addedLabelNames(e: WebhookEnvelope, issue: IssueData): string[] {
  const nameOf = new Map(issue.labels.map((l) => [l.id, l.name]));
  const current = issue.labelIds.length ? issue.labelIds : issue.labels.map((l) => l.id);
  if (e.action === 'create') return current.map((id) => nameOf.get(id)).filter((n): n is string => !!n);
  if (e.action !== 'update') return [];
  const before = e.updatedFrom?.labelIds;
  if (!Array.isArray(before)) return [];
  return current
    .filter((id) => !before.includes(id))
    .map((id) => nameOf.get(id))
    .filter((n): n is string => !!n);
}

/**
 * Decides whether an Issue event asks bgagent for work: an Issue created with the trigger label, or
 * updated so that the label was just added (case-insensitive). `<label>:help` asks for the explainer.
 * `triggerLabelFor(projectId)` gives the project's own label (default `bgagent`).
 */
export function decideIssueTrigger(e: WebhookEnvelope, triggerLabel: string): TriggerDecision {
  if (e.type !== 'Issue') return { kind: 'ignore', reason: `${e.type} events do not trigger tasks` };
  if (e.action !== 'create' && e.action !== 'update') return { kind: 'ignore', reason: `Issue ${e.action} does not trigger tasks` };
  const parsed = issueDataSchema.safeParse(e.data);
  if (!parsed.success) return { kind: 'ignore', reason: 'Issue event without usable issue data' };
  const issue = parsed.data;
  const added = addedLabelNames(e, issue).map((n) => n.toLowerCase());
  const label = triggerLabel.toLowerCase();
  if (added.includes(`${label}:help`)) return { kind: 'help', issue, label: triggerLabel };
  if (added.includes(label)) return { kind: 'trigger', issue, label: triggerLabel };
  return { kind: 'ignore', reason: 'the trigger label was not added' };
}
