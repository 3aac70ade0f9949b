import type { Generated } from 'kysely';

/** Timestamps are epoch milliseconds in both dialects; JSON columns are text. */
export interface UsersTable {
  id: string;
  name: string;
  is_admin: number;
  max_concurrent: number | null;
  created_at: number;
}

export interface ApiTokensTable {
  id: string;
  user_id: string;
  name: string;
  token_hash: string;
  prefix: string;
  created_at: number;
  last_used_at: number | null;
  revoked_at: number | null;
}

export interface ReposTable {
  name: string;
  clone_url: string;
  default_branch: string;
  agent: string;
  agent_settings: string;
  created_at: number;
  updated_at: number;
}

export interface TasksTable {
  id: string;
  user_id: string;
  repo: string;
  task_description: string;
  issue_ref: string | null;
  status: string;
  branch_name: string;
  pr_url: string | null;
  pr_number: number | null;
  max_turns: number | null;
  max_budget_usd: number | null;
  idempotency_key: string | null;
  channel_source: string;
  channel_metadata: string;
  error_code: string | null;
  error_message: string | null;
  outcome: string | null;
  summary: string | null;
  cost_usd: number | null;
  turns: number | null;
  linear_calls: number;
  attempt: number;
  lease_owner: string | null;
  lease_expires_at: number | null;
  cancelled_by: string | null;
  created_at: number;
  queued_at: number | null;
  started_at: number | null;
  heartbeat_at: number | null;
  finished_at: number | null;
  updated_at: number;
}

export interface TaskEventsTable {
  id: Generated<number>;
  task_id: string;
  type: string;
  message: string;
  data: string | null;
  created_at: number;
}

export interface LinearWorkspacesTable {
  id: string;
  url_key: string;
  name: string;
  api_key_ref: string;
  signing_secret_ref: string | null;
  viewer_id: string | null;
  status: string;
  created_at: number;
  updated_at: number;
}

export interface LinearProjectsTable {
  project_id: string;
  workspace_id: string;
  name: string;
  repo: string;
  trigger_label: string;
  status: string;
  created_at: number;
  updated_at: number;
}

export interface LinearUserLinksTable {
  workspace_id: string;
  linear_user_id: string;
  linear_user_name: string;
  linear_user_email: string | null;
  user_id: string;
  created_at: number;
}

export interface LinearDeliveriesTable {
  id: string;
  dedupe_key: string;
  workspace_id: string | null;
  type: string;
  action: string;
  payload: string;
  status: string;
  attempts: number;
  lease_owner: string | null;
  lease_expires_at: number | null;
  result: string | null;
  received_at: number;
  processed_at: number | null;
}

export interface LinearIssueNotesTable {
  issue_id: string;
  kind: string;
  created_at: number;
}

export interface Database {
  users: UsersTable;
  api_tokens: ApiTokensTable;
  repos: ReposTable;
  tasks: TasksTable;
  task_events: TaskEventsTable;
  linear_workspaces: LinearWorkspacesTable;
  linear_projects: LinearProjectsTable;
  linear_user_links: LinearUserLinksTable;
  linear_deliveries: LinearDeliveriesTable;
  linear_issue_notes: LinearIssueNotesTable;
}
