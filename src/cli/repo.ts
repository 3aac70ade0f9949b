import type { Command } from 'commander';
import { ApiClient, CliError, clientOptionsFromEnv } from './client.js';
import { printJson, printTable } from './output.js';

/** A non-admin sees a repository by name and branch only; the rest is the admin's. */
interface RepoJson {
  name: string;
  default_branch: string;
  clone_url?: string;
  agent?: string;
  agent_settings?: Record<string, unknown>;
}

export function registerRepoCommands(program: Command): void {
  const repo = program.command('repo').description('Onboard repositories the agents may work on');

  repo
    .command('add <name>')
    .description('Onboard a repository (or update its settings)')
    .requiredOption('--url <url>', 'clone URL (https://, file://, ssh://)')
    .option('--default-branch <branch>', 'the branch tasks start from and PRs target', 'main')
    .option('--agent <name>', 'the agent harness: command or claude', 'command')
    .option('--agent-command <cmd>', 'for --agent command: the shell command to run in the workspace')
    .option('--model <model>', 'for --agent claude: the model (default BGAGENT_MODEL)')
    .option('--json', 'print JSON')
    .action(async (name: string, o: { url: string; defaultBranch: string; agent: string; agentCommand?: string; model?: string; json?: boolean }) => {
      const settings: Record<string, unknown> = {};
      if (o.agentCommand !== undefined) settings.command = o.agentCommand;
      if (o.model !== undefined) settings.model = o.model;
      if (o.agent === 'command' && o.agentCommand === undefined) throw new CliError('--agent command needs --agent-command CMD');
      const res = await new ApiClient(clientOptionsFromEnv()).request<{ repo: RepoJson }>('POST', '/v1/repos', {
        name,
        clone_url: o.url,
        default_branch: o.defaultBranch,
        agent: o.agent,
        agent_settings: settings,
      });
      if (o.json) printJson(res.data);
      else process.stdout.write(`${res.status === 201 ? 'Onboarded' : 'Updated'} ${res.data.repo.name} (${res.data.repo.agent} agent, branch ${res.data.repo.default_branch})\n`);
    });

  repo
    .command('list')
    .description('List onboarded repositories')
    .option('--json', 'print JSON')
    .action(async (o: { json?: boolean }) => {
      const data = await new ApiClient(clientOptionsFromEnv()).get<{ repos: RepoJson[] }>('/v1/repos');
      if (o.json) return printJson(data);
      const adminView = data.repos.some((r) => r.clone_url !== undefined);
      printTable(
        data.repos.map((r) => ({ name: r.name, agent: r.agent, branch: r.default_branch, url: r.clone_url })),
        adminView ? ['name', 'agent', 'branch', 'url'] : ['name', 'branch'],
      );
    });

  repo
    .command('remove <name>')
    .description('Offboard a repository (its tasks are kept)')
    .option('--json', 'print JSON')
    .action(async (name: string, o: { json?: boolean }) => {
      const { data } = await new ApiClient(clientOptionsFromEnv()).request<{ removed: string }>('DELETE', `/v1/repos/${name}`);
      if (o.json) printJson(data);
      else process.stdout.write(`Removed ${data.removed}\n`);
    });
}
