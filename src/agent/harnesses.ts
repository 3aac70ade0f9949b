import type { Logger } from '../log.js';
import { ClaudeHarness } from './claude-harness.js';
import { CommandHarness } from './command-harness.js';
import type { AgentHarness } from './harness.js';
import { programDir, sandboxUnavailableMessage, wrapCommand, type SandboxState } from '../sandbox/sandbox.js';
import type { TaskTools } from './task-tools.js';

export interface HarnessDeps {
  dataDir: string;
  /** Resolved once at start from BGAGENT_SANDBOX (see resolveSandbox). */
  sandbox: SandboxState;
  logger?: Logger;
  /** For the claude harness. */
  claude?: {
    model?: string;
    modelEnv: () => Promise<Record<string, string>>;
    tools?: TaskTools;
  };
}

export const HARNESS_NAMES = ['command', 'claude'] as const;

/** Harnesses whose agent can take a follow-up, ask a question and resume its conversation. */
const HARNESSES_TAKING_INPUT: readonly string[] = ['claude'];

export function harnessTakesInput(name: string): boolean {
  return HARNESSES_TAKING_INPUT.includes(name);
}

/** The harness a repository's `agent` setting names. */
export function createHarness(name: string, deps: HarnessDeps): AgentHarness {
  switch (name) {
    case 'command': {
      const { sandbox } = deps;
      // Unavailable: the command harness finds that out itself and refuses the run.
      return new CommandHarness({ dataDir: deps.dataDir, sandbox: sandbox.mode === 'none' ? 'none' : 'bwrap', logger: deps.logger });
    }
    case 'claude': {
      if (!deps.claude) throw new Error('the claude harness is not configured in this process');
      const { sandbox } = deps;
      return new ClaudeHarness({
        ...deps.claude,
        logger: deps.logger,
        dataDir: deps.dataDir,
        wrapLaunch: (launch, run) => {
          if (sandbox.mode === 'unavailable') throw new Error(sandboxUnavailableMessage(sandbox));
          const argv = wrapCommand([launch.command, ...launch.args], {
            workspacePath: launch.cwd,
            mirrorPath: run.mirrorPath,
            mode: sandbox.mode,
            home: launch.env.HOME,
            // Claude Code's own binary, from the SDK's platform package.
            readOnlyPaths: programDir(launch.command),
          });
          return { ...launch, command: argv[0]!, args: argv.slice(1), sandbox: sandbox.mode };
        },
      });
    }
    default:
      throw new Error(`unknown agent harness "${name}" (available: ${HARNESS_NAMES.join(', ')})`);
  }
}
