import type { Repo, Task, TaskEvent, User } from '../tasks/task.js';
import type { TaskStatus } from '../tasks/states.js';
import type { ChannelSource } from '../tasks/task.js';
import type { ReposTable, TaskEventsTable, TasksTable, UsersTable } from './schema.js';
import type { Selectable } from 'kysely';

/** Row ↔ domain mapping in one place: JSON text columns, 0/1 flags, snake_case names. */
export function parseJson<T>(text: string | null, fallback: T): T {
  if (text == null) return fallback;
  try {
    return JSON.parse(text) as T;
  } catch {
    return fallback;
  }
}

export function taskFromRow(r: Selectable<TasksTable>): Task {
  return {
    id: r.id,
    userId: r.user_id,
    repo: r.repo,
    taskDescription: r.task_description,
    issueRef: r.issue_ref,
    status: r.status as TaskStatus,
    branchName: r.branch_name,
    prUrl: r.pr_url,
    prNumber: r.pr_number,
    maxTurns: r.max_turns,
    maxBudgetUsd: r.max_budget_usd,
    idempotencyKey: r.idempotency_key,
    channelSource: r.channel_source as ChannelSource,
    channelMetadata: parseJson(r.channel_metadata, {}),
    errorCode: r.error_code,
    errorMessage: r.error_message,
    outcome: r.outcome,
    summary: r.summary,
    costUsd: r.cost_usd,
    turns: r.turns,
    linearCalls: r.linear_calls,
    attempt: r.attempt,
    leaseOwner: r.lease_owner,
    leaseExpiresAt: r.lease_expires_at,
    cancelledBy: r.cancelled_by,
    createdAt: r.created_at,
    queuedAt: r.queued_at,
    startedAt: r.started_at,
    heartbeatAt: r.heartbeat_at,
    finishedAt: r.finished_at,
    updatedAt: r.updated_at,
    parentTaskId: r.parent_task_id,
    question: r.question,
    questionAskedAt: r.question_asked_at,
    inputWaitMs: Number(r.input_wait_ms),
  };
}

export function eventFromRow(r: Selectable<TaskEventsTable>): TaskEvent {
  return {
    id: Number(r.id),
    taskId: r.task_id,
    type: r.type,
    message: r.message,
    data: parseJson(r.data, null),
    createdAt: r.created_at,
  };
}

export function repoFromRow(r: Selectable<ReposTable>): Repo {
  return {
    name: r.name,
    cloneUrl: r.clone_url,
    defaultBranch: r.default_branch,
    agent: r.agent,
    agentSettings: parseJson(r.agent_settings, {}),
    gitCredentialRef: r.git_credential_ref,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

export function userFromRow(r: Selectable<UsersTable>): User {
  return { id: r.id, name: r.name, isAdmin: r.is_admin === 1, maxConcurrent: r.max_concurrent, createdAt: r.created_at };
}
