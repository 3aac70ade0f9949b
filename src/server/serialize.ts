import { displayReference } from '../credentials/index.js';
import type { Repo, Task, TaskEvent } from '../tasks/task.js';

/** The API speaks snake_case JSON with ISO timestamps; these are its shapes. */
const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export function taskJson(t: Task) {
  return {
    id: t.id,
    user_id: t.userId,
    repo: t.repo,
    task_description: t.taskDescription,
    issue: t.issueRef,
    status: t.status,
    branch_name: t.branchName,
    pr_url: t.prUrl,
    pr_number: t.prNumber,
    max_turns: t.maxTurns,
    max_budget_usd: t.maxBudgetUsd,
    idempotency_key: t.idempotencyKey,
    channel_source: t.channelSource,
    channel_metadata: t.channelMetadata,
    error_code: t.errorCode,
    error_message: t.errorMessage,
    outcome: t.outcome,
    summary: t.summary,
    cost_usd: t.costUsd,
    turns: t.turns,
    linear_calls: t.linearCalls,
    attempt: t.attempt,
    cancelled_by: t.cancelledBy,
    created_at: iso(t.createdAt),
    queued_at: iso(t.queuedAt),
    started_at: iso(t.startedAt),
    heartbeat_at: iso(t.heartbeatAt),
    finished_at: iso(t.finishedAt),
    updated_at: iso(t.updatedAt),
    parent_task_id: t.parentTaskId,
    /** The agent's open question, while the task waits for an answer. */
    question: t.status === 'AWAITING_INPUT' ? t.question : null,
    question_asked_at: t.status === 'AWAITING_INPUT' ? iso(t.questionAskedAt) : null,
  };
}

export type TaskJson = ReturnType<typeof taskJson>;

export function eventJson(e: TaskEvent) {
  return { id: e.id, task_id: e.taskId, type: e.type, message: e.message, data: e.data, created_at: iso(e.createdAt) };
}

export type TaskEventJson = ReturnType<typeof eventJson>;

export function repoJson(r: Repo) {
  return {
    name: r.name,
    clone_url: redactUrlCredentials(r.cloneUrl),
    default_branch: r.defaultBranch,
    agent: r.agent,
    agent_settings: r.agentSettings,
    // Scheme and name only; "(literal value)" would mean a value was stored, which no route does.
    git_credential_ref: r.gitCredentialRef === null ? null : displayReference(r.gitCredentialRef),
    created_at: iso(r.createdAt),
    updated_at: iso(r.updatedAt),
  };
}

/** A clone URL may carry user:password; never echo it. */
export function redactUrlCredentials(url: string): string {
  return url.replace(/^(https?:\/\/)[^@/]+@/, '$1[redacted]@');
}
