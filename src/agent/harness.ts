export interface AgentEvent { type: 'agent_message' | 'tool_use' | 'tool_result' | 'agent_output' | 'progress'; message: string; data?: Record<string, unknown> }
export interface AgentRunInput {
  taskId: string; workspacePath: string; taskText: string; prompt: string;
  maxTurns: number | null; maxBudgetUsd: number | null; timeoutMs: number;
  env: Record<string, string>;          // the only environment the agent gets (built explicitly)
  settings: Record<string, unknown>;    // the repo's agent settings (e.g. { model: "..." })
  signal: AbortSignal;                  // cancel: stop the agent's whole process tree
  onEvent(ev: AgentEvent): void;
}
export type AgentOutcome = 'success' | 'failed' | 'max_turns' | 'budget_exceeded' | 'timed_out' | 'cancelled';
export interface AgentResult { outcome: AgentOutcome; summary?: string; costUsd?: number; turns?: number; errorMessage?: string }
export interface AgentHarness { readonly name: string; run(input: AgentRunInput): Promise<AgentResult> }
