import { Command } from 'commander';
import { registerRepoCommands } from './repo.js';
import { registerMigrateCommand, registerServeCommand } from './serve.js';
import { registerTaskCommands } from './tasks.js';
import { registerTokenCommands } from './token.js';
import { registerLinearCommands } from './linear.js';
import { registerCredentialsCommands } from './credentials.js';

export function buildProgram(): Command {
  const program = new Command('bgagent')
    .description('Background coding agents: Linear issues and CLI tasks in, branches and pull requests out.')
    .version('0.1.0')
    .showHelpAfterError()
    .addHelpText(
      'after',
      '\nEnvironment:\n  BGAGENT_URL    server the client commands talk to (default http://127.0.0.1:8080)\n  BGAGENT_TOKEN  API token (default: the admin token in the data dir)\n  BGAGENT_DATA_DIR  data dir (default ~/.bgagent)\nSee README.md for every configuration variable.',
    );
  registerServeCommand(program);
  registerMigrateCommand(program);
  registerRepoCommands(program);
  registerTaskCommands(program);
  registerTokenCommands(program);
  registerLinearCommands(program);
  registerCredentialsCommands(program);
  return program;
}
