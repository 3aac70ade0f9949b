import { fileURLToPath } from 'node:url';
import type { Logger } from '../log.js';
import { ClaudeHarness } from './claude-harness.js';
import { CommandHarness } from './command-harness.js';
import type { AgentHarness } from './harness.js';
import { wrapCommand, type SandboxMode } from '../sandbox/sandbox.js';
import type { TaskTools } from './task-tools.js';

export interface HarnessDeps {
  dataDir: string;
  /** BGAGENT_SANDBOX; unset: bwrap when it works here. */
  sandbox?: SandboxMode;
  logger?: Logger;
  /** For the claude harness. */
  claude?: {
    model?: string;
    modelEnv: () => Promise<Record<string, string>>;
    tools?: TaskTools;
    /** The sandbox mode resolved at start (the launch hook is synchronous). */
    sandboxMode: SandboxMode;
  };
}

/** bgagent's own install (with the Claude Code binary in node_modules): readable in the sandbox even when it lives under /tmp. */
const PACKAGE_ROOT = fileURLToPath(new URL('../../', import.meta.url));

export const HARNESS_NAMES = ['command', 'claude'] as const;

/** Harnesses whose agent can take a follow-up, ask a question and resume its conversation. */
const HARNESSES_TAKING_INPUT: readonly string[] = ['claude'];

export function harnessTakesInput(name: string): boolean {
  return HARNESSES_TAKING_INPUT.includes(name);
}

/** The harness a repository's `agent` setting names. */
export function createHarness(name: string, deps: HarnessDeps): AgentHarness {
  switch (name) {
    case 'command':
      return new CommandHarness({ dataDir: deps.dataDir, sandbox: deps.sandbox, logger: deps.logger });
    case 'claude': {
      if (!deps.claude) throw new Error('the claude harness is not configured in this process');
      const { sandboxMode, ...claude } = deps.claude;
      return new ClaudeHarness({
        ...claude,
        logger: deps.logger,
        wrapLaunch: (launch) => {
          const argv = wrapCommand([launch.command, ...launch.args], { workspacePath: launch.cwd, dataDir: deps.dataDir, mode: sandboxMode, home: launch.env.HOME, readOnlyPaths: [PACKAGE_ROOT] });
          return { ...launch, command: argv[0]!, args: argv.slice(1) };
        },
      });
    }
    default:
      throw new Error(`unknown agent harness "${name}" (available: ${HARNESS_NAMES.join(', ')})`);
  }
}
