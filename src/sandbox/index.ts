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
export { reapOrphanedAgents, setprivPath } from './agent-processes.js';
