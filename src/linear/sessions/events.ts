import { z } from 'zod';

/**
 * The parts of Linear's `AgentSessionEvent` webhook bgagent uses (`AgentSessionEventWebhookPayload` in
 * Linear's schema): `created` carries the session with its issue, comment and creator, and `promptContext`;
 * `prompted` carries the person's new `agentActivity` (a `prompt`, with `signal: "stop"` to stop).
 */

const userSchema = z.looseObject({ id: z.string(), name: z.string().optional(), email: z.string().optional() });

const issueSchema = z.looseObject({
  id: z.string(),
  identifier: z.string().optional(),
  title: z.string().optional(),
  description: z.string().nullish(),
  url: z.string().optional(),
  teamId: z.string().optional(),
  team: z.looseObject({ id: z.string(), key: z.string().optional(), name: z.string().optional() }).nullish(),
});

const sessionSchema = z.looseObject({
  id: z.string().min(1),
  issue: issueSchema.nullish(),
  issueId: z.string().nullish(),
  comment: z.looseObject({ id: z.string(), body: z.string().optional() }).nullish(),
  creator: userSchema.nullish(),
  creatorId: z.string().nullish(),
});

const activitySchema = z.looseObject({
  id: z.string(),
  content: z.looseObject({ type: z.string().optional(), body: z.string().optional() }).nullish(),
  signal: z.string().nullish(),
  user: userSchema.nullish(),
  userId: z.string().nullish(),
});

export const agentSessionEventSchema = z.looseObject({
  type: z.literal('AgentSessionEvent'),
  action: z.string(),
  organizationId: z.string().min(1),
  webhookTimestamp: z.number(),
  agentSession: sessionSchema,
  agentActivity: activitySchema.nullish(),
  promptContext: z.string().nullish(),
});

export type AgentSessionEvent = z.infer<typeof agentSessionEventSchema>;
export type SessionIssue = z.infer<typeof issueSchema>;
