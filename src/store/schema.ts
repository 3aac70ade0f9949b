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

/** A web sign-in: id is the SHA-256 of the random id in the cookie; it lives as long as its token. */
export interface WebSessionsTable {
  id: string;
  token_id: string;
  user_id: string;
  created_at: number;
  last_seen_at: number;
  expires_at: number;
}

export interface ReposTable {
  name: string;
  clone_url: string;
  default_branch: string;
  agent: string;
  agent_settings: string;
  /** A credential reference (never a value) for git over http(s); null when git needs none or GitHub's token is used. */
  git_credential_ref: string | null;
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
  /** The task this one continues (a follow-up after it ended). */
  parent_task_id: string | null;
  /** The agent's open question while AWAITING_INPUT (kept afterwards as the last question asked). */
  question: string | null;
  question_asked_at: number | null;
  /** Time spent waiting for answers; the time limit counts only the rest. */
  input_wait_ms: Generated<number>;
}

/** A follow-up or an answer for a task; pending until the agent (or a resumed run) has taken it. */
export interface TaskInputsTable {
  id: Generated<number>;
  task_id: string;
  /** 'follow_up' (sent while the task ran) or 'answer' (to the agent's question). */
  kind: string;
  text: string;
  author: string;
  created_at: number;
  delivered_at: number | null;
}

/** The agent's saved conversation, so any worker can resume it (after a question, or in a continuation). */
export interface AgentConversationsTable {
  task_id: string;
  harness: string;
  session_id: string;
  /** Claude Code's session transcript (JSON lines). */
  transcript: string;
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
  /** 'active', 'revoked' (the OAuth app was uninstalled) or 'reinstall_required' (the refresh token was refused). */
  status: string;
  created_at: number;
  updated_at: number;
  /** 'api_key' (a personal API key) or 'oauth' (installed as an OAuth app; tokens in the database secret api_key_ref names). */
  auth_kind: Generated<string>;
  /** OAuth workspaces: the app's own user (the viewer of an actor=app token). */
  app_user_id: string | null;
  oauth_scopes: string | null;
  /** OAuth workspaces: when the stored access token expires (epoch ms). */
  token_expires_at: number | null;
  /** Why the workspace is not active, for admins. */
  status_reason: string | null;
}

/** One `bgagent linear install` attempt: the PKCE verifier waits here for the callback (one use, short-lived). */
export interface LinearOAuthInstallsTable {
  id: string;
  /** sha256 of the state sent to Linear; the state itself is never stored. */
  state_hash: string;
  code_verifier: string;
  redirect_uri: string;
  /** 'pending', 'exchanging', 'completed' or 'failed'. */
  status: string;
  workspace_id: string | null;
  error: string | null;
  created_at: number;
  expires_at: number;
  finished_at: number | null;
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
  /** The agent session or issue the delivery stays in order with; null: none. */
  ordering_key: string | null;
  /** Linear's webhookTimestamp: the order of deliveries with the same key. */
  webhook_timestamp: number;
  /** A delivery that failed for a passing reason is not tried again before this. */
  not_before: number | null;
}

export interface LinearIssueNotesTable {
  issue_id: string;
  kind: string;
  created_at: number;
}

/** A Linear agent session (delegation or @mention) and the task it runs. */
export interface LinearAgentSessionsTable {
  id: string;
  workspace_id: string;
  issue_id: string | null;
  issue_identifier: string | null;
  /** The Linear user who started the session. */
  creator_id: string | null;
  /** The session's current task (a continuation replaces it); null until a repository is known. */
  task_id: string | null;
  /** 'awaiting_repo', 'active' (a task exists) or 'refused'. */
  status: string;
  /** JSON: what creating the task needs once the repository is known (task text, channel metadata, user). */
  context: string;
  created_at: number;
  updated_at: number;
}

/** A Linear team's default repository, for sessions on issues whose project is not mapped. */
export interface LinearTeamReposTable {
  team_id: string;
  repo: string;
  created_at: number;
  updated_at: number;
}

/** Secrets bgagent keeps itself (`db:NAME` references, Linear OAuth token pairs), sealed with AES-256-GCM. */
export interface EncryptedSecretsTable {
  name: string;
  /** See SecretSealer: never a plain value. */
  sealed: string;
  created_at: number;
  updated_at: number;
}

export interface Database {
  users: UsersTable;
  api_tokens: ApiTokensTable;
  web_sessions: WebSessionsTable;
  repos: ReposTable;
  tasks: TasksTable;
  task_events: TaskEventsTable;
  task_inputs: TaskInputsTable;
  agent_conversations: AgentConversationsTable;
  linear_workspaces: LinearWorkspacesTable;
  linear_projects: LinearProjectsTable;
  linear_user_links: LinearUserLinksTable;
  linear_deliveries: LinearDeliveriesTable;
  linear_issue_notes: LinearIssueNotesTable;
  linear_agent_sessions: LinearAgentSessionsTable;
  linear_team_repos: LinearTeamReposTable;
  linear_oauth_installs: LinearOAuthInstallsTable;
  encrypted_secrets: EncryptedSecretsTable;
}
