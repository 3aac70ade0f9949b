#!/usr/bin/env node
import { CommanderError } from 'commander';
import { ConfigError } from '../config/config.js';
import { ServeLockError } from '../server/serve-lock.js';
import { CliError } from './client.js';
import { buildProgram } from './program.js';

/** Errors we expect are one line on stderr and a non-zero exit; anything else also shows its stack. */
async function main(argv: string[]): Promise<void> {
  const program = buildProgram();
  program.exitOverride();
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      process.exitCode = err.exitCode;
      return;
    }
    if (err instanceof CliError || err instanceof ConfigError || err instanceof ServeLockError) {
      process.stderr.write(`bgagent: ${err.message}\n`);
      process.exitCode = err instanceof CliError ? err.exitCode : 1;
      return;
    }
    process.stderr.write(`bgagent: unexpected error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  }
}

await main(process.argv);
