import type { Command } from 'commander';
import { ApiClient, clientOptionsFromEnv } from './client.js';
import { printJson, printTable, shortTime } from './output.js';
import { positiveInt } from './tasks.js';

interface TokenJson {
  id: string;
  user: string;
  name: string;
  prefix: string;
  created_at: string;
  last_used_at: string | null;
  revoked_at: string | null;
}

export function registerTokenCommands(program: Command): void {
  const token = program.command('token').description('API tokens (an admin creates them; a user is created with their first token)');

  token
    .command('create')
    .description('Create an API token for a user; the token is printed once')
    .requiredOption('--user <name>', 'the user the token belongs to')
    .option('--name <name>', 'a label for the token', 'default')
    .option('--max-concurrent <n>', "the user's concurrency cap (default BGAGENT_MAX_CONCURRENT_PER_USER)", positiveInt)
    .option('--json', 'print JSON')
    .action(async (o: { user: string; name: string; maxConcurrent?: number; json?: boolean }) => {
      const { data } = await new ApiClient(clientOptionsFromEnv()).request<{ token: string; info: TokenJson }>('POST', '/v1/tokens', {
        user: o.user,
        name: o.name,
        max_concurrent: o.maxConcurrent,
      });
      if (o.json) return printJson(data);
      process.stderr.write(`Token ${data.info.id} for ${data.info.user} (shown once; store it now):\n`);
      process.stdout.write(`${data.token}\n`);
    });

  token
    .command('list')
    .description('List API tokens (never their values)')
    .option('--json', 'print JSON')
    .action(async (o: { json?: boolean }) => {
      const data = await new ApiClient(clientOptionsFromEnv()).get<{ tokens: TokenJson[] }>('/v1/tokens');
      if (o.json) return printJson(data);
      printTable(
        data.tokens.map((t) => ({ id: t.id, user: t.user, name: t.name, prefix: `${t.prefix}…`, created: shortTime(t.created_at), revoked: shortTime(t.revoked_at) })),
        ['id', 'user', 'name', 'prefix', 'created', 'revoked'],
      );
    });

  token
    .command('revoke <id>')
    .description('Revoke an API token')
    .option('--json', 'print JSON')
    .action(async (id: string, o: { json?: boolean }) => {
      const { data } = await new ApiClient(clientOptionsFromEnv()).request<{ revoked: string }>('DELETE', `/v1/tokens/${encodeURIComponent(id)}`);
      if (o.json) printJson(data);
      else process.stdout.write(`Revoked ${data.revoked}\n`);
    });
}
