export type { AgentEvent, AgentHarness, AgentOutcome, AgentResult, AgentRunInput } from './harness.js';
export { createHarness, HARNESS_NAMES, type HarnessDeps } from './harnesses.js';
export { CommandHarness, type CommandHarnessOptions } from './command-harness.js';
