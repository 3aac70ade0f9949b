export interface AgentEvent { type: 'agent_message' | 'tool_use' | 'tool_result' | 'agent_output' | 'progress'; message: string; data?: Record<string, unknown> }
/** An agent's conversation as saved between runs: what a later run resumes. */
export interface AgentConversation { sessionId: string; transcript: string }
/** Messages from the person for the agent while it runs (follow-ups). */
export interface AgentInputs {
  /** The messages that arrived since the last call, oldest first; each is handed out once. */
  take(): Promise<string[]>;
  /** Resolves when a message may have arrived (a local signal or a poll interval), or when `signal` aborts. */
  changed(signal: AbortSignal): Promise<void>;
}
export interface AgentRunInput {
  taskId: string; workspacePath: string;
  /** The repository mirror the workspace borrows objects from, from the platform's record: shown read-only to the agent. */
  mirrorPath?: string;
  taskText: string; prompt: string;
  maxTurns: number | null; maxBudgetUsd: number | null; timeoutMs: number;
  env: Record<string, string>;          // the only environment the agent gets (built explicitly)
  settings: Record<string, unknown>;    // the repo's agent settings (e.g. { model: "..." })
  signal: AbortSignal;                  // cancel: stop the agent's whole process tree
  onEvent(ev: AgentEvent): void;
  /** Go on with this earlier conversation; `prompt` is then the person's next message. */
  resume?: AgentConversation;
  /** Follow-ups that reach the agent at its next turn (harnesses that take input only). */
  inputs?: AgentInputs;
}
export type AgentOutcome = 'success' | 'failed' | 'max_turns' | 'budget_exceeded' | 'timed_out' | 'cancelled' | 'awaiting_input';
export interface AgentResult {
  outcome: AgentOutcome; summary?: string; costUsd?: number; turns?: number; errorMessage?: string;
  /** The question the agent asked the person (outcome awaiting_input). */
  question?: string;
  /** The conversation so far, for a later run to resume (harnesses that keep one). */
  conversation?: AgentConversation;
  /** Follow-ups taken from `inputs` that the agent never saw (they arrived as it ended). */
  undelivered?: string[];
}
export interface AgentHarness { readonly name: string; run(input: AgentRunInput): Promise<AgentResult> }
