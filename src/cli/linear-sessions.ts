import type { Command } from 'commander';
import { ApiClient, CliError, clientOptionsFromEnv } from './client.js';
import { printJson, printTable } from './output.js';

const api = () => new ApiClient(clientOptionsFromEnv());

/** `bgagent linear team-repo(s)`: the repository an agent session works in when the project is not mapped. */
export function registerLinearSessionCommands(linear: Command): void {
  linear
    .command('team-repo <teamId> [repo]')
    .description("Set a Linear team's default repository for delegated and @mentioned issues whose project is not mapped (--remove to unset)")
    .option('--remove', "remove the team's default")
    .option('--json', 'print JSON')
    .action(async (teamId: string, repo: string | undefined, o: { remove?: boolean; json?: boolean }) => {
      if (o.remove) {
        const { data } = await api().request<{ removed: string }>('DELETE', `/v1/linear/team-repos/${encodeURIComponent(teamId)}`);
        if (o.json) return printJson(data);
        process.stdout.write(`Team ${teamId} has no default repository now.\n`);
        return;
      }
      if (!repo) throw new CliError('give the repository: bgagent linear team-repo <teamId> <repo> (or --remove)', 'VALIDATION_ERROR', 2);
      const { data } = await api().request<{ team_repo: { team_id: string; repo: string } }>('POST', '/v1/linear/team-repos', { team_id: teamId, repo });
      if (o.json) return printJson(data);
      process.stdout.write(`Team ${data.team_repo.team_id} → ${data.team_repo.repo}: delegated issues outside a mapped project run there.\n`);
    });

  linear
    .command('team-repos')
    .description("List Linear teams' default repositories")
    .option('--json', 'print JSON')
    .action(async (o: { json?: boolean }) => {
      const data = await api().get<{ team_repos: Record<string, unknown>[] }>('/v1/linear/team-repos');
      if (o.json) return printJson(data);
      printTable(data.team_repos, ['team_id', 'repo', 'updated_at']);
    });
}
