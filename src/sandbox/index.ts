export { detectSandbox, resolveSandboxMode, wrapCommand, type SandboxMode, type SandboxOptions, type SandboxSupport } from './sandbox.js';
