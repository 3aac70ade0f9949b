import type { AgentEvent } from '../agent/harness.js';
import type { Task } from '../tasks/task.js';

/** Channel feedback the orchestrator triggers; implementations are best-effort and never throw. */
export interface TaskChannel {
  queued(task: Task): void;
  /** A worker took the task and starts on it (before the workspace is prepared). */
  started?(task: Task): void;
  prCreated?(task: Task, pr: { url: string; number: number }): void;
  /** What the agent does as it happens: messages, tool use and results, progress notes. */
  agentEvent?(task: Task, event: AgentEvent): void;
  /** The agent asked the person a question; the task waits in AWAITING_INPUT for the answer. */
  awaitingInput?(task: Task, question: string): void;
  /** The task reached a terminal state: completed, failed, timed out or cancelled, by the runner, recovery or a cancel. */
  finished?(task: Task): void;
}
