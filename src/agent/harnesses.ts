import type { Logger } from '../log.js';
import { CommandHarness } from './command-harness.js';
import type { AgentHarness } from './harness.js';
import type { SandboxMode } from './sandbox.js';

export interface HarnessDeps {
  dataDir: string;
  /** BGAGENT_SANDBOX; unset: bwrap when it works here. */
  sandbox?: SandboxMode;
  logger?: Logger;
}

export const HARNESS_NAMES = ['command'] as const;

/** The harness a repository's `agent` setting names. */
export function createHarness(name: string, deps: HarnessDeps): AgentHarness {
  switch (name) {
    case 'command':
      return new CommandHarness({ dataDir: deps.dataDir, sandbox: deps.sandbox, logger: deps.logger });
    default:
      throw new Error(`unknown agent harness "${name}" (available: ${HARNESS_NAMES.join(', ')})`);
  }
}
