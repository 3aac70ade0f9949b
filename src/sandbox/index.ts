export {
  detectSandbox,
  programDir,
  resolveSandbox,
  resolveSandboxMode,
  SANDBOX_INSTALL_HINT,
  sandboxUnavailableMessage,
  warnUnconfined,
  wrapCommand,
  type SandboxMode,
  type SandboxOptions,
  type SandboxState,
  type SandboxSupport,
} from './sandbox.js';
export { AgentProcesses, reapOrphanedAgents, type AgentGroup, type AgentSpawn } from './agent-processes.js';
