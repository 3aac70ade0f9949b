import type { TaskStatus } from './states.js';

export const CHANNEL_SOURCES = ['api', 'cli', 'webhook', 'linear'] as const;
export type ChannelSource = (typeof CHANNEL_SOURCES)[number];

export interface Task {
  id: string;
  userId: string;
  repo: string;
  taskDescription: string;
  issueRef: string | null;
  status: TaskStatus;
  branchName: string;
  prUrl: string | null;
  prNumber: number | null;
  maxTurns: number | null;
  maxBudgetUsd: number | null;
  idempotencyKey: string | null;
  channelSource: ChannelSource;
  channelMetadata: Record<string, unknown>;
  errorCode: string | null;
  errorMessage: string | null;
  outcome: string | null;
  summary: string | null;
  costUsd: number | null;
  turns: number | null;
  linearCalls: number;
  attempt: number;
  leaseOwner: string | null;
  leaseExpiresAt: number | null;
  cancelledBy: string | null;
  createdAt: number;
  queuedAt: number | null;
  startedAt: number | null;
  heartbeatAt: number | null;
  finishedAt: number | null;
  updatedAt: number;
  /** The task this one continues (a follow-up sent after it ended). */
  parentTaskId: string | null;
  /** The agent's open question while AWAITING_INPUT; afterwards the last question it asked. */
  question: string | null;
  questionAskedAt: number | null;
  /** Time spent waiting for answers; the time limit counts only the rest. */
  inputWaitMs: number;
}

export interface TaskEvent {
  id: number;
  taskId: string;
  type: string;
  message: string;
  data: Record<string, unknown> | null;
  createdAt: number;
}

/** What a step appends alongside a change: the event type, a human line and optional detail. */
export interface NewTaskEvent {
  type: string;
  message: string;
  data?: Record<string, unknown>;
}

export interface Repo {
  name: string;
  cloneUrl: string;
  defaultBranch: string;
  agent: string;
  agentSettings: Record<string, unknown>;
  /** A credential reference for git over http(s) (the password or token), when the repository needs one. */
  gitCredentialRef: string | null;
  createdAt: number;
  updatedAt: number;
}

export interface User {
  id: string;
  name: string;
  isAdmin: boolean;
  maxConcurrent: number | null;
  createdAt: number;
}
