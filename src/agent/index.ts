export type { AgentEvent, AgentHarness, AgentOutcome, AgentResult, AgentRunInput } from './harness.js';
export { createHarness, HARNESS_NAMES, type HarnessDeps } from './harnesses.js';
export { CommandHarness, type CommandHarnessOptions } from './command-harness.js';
export { detectSandbox, resolveSandboxMode, wrapCommand, type SandboxMode, type SandboxOptions, type SandboxSupport } from './sandbox.js';
