import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { displayReference, LITERAL_DISPLAY } from '../credentials/index.js';
import { cloneUrlHasPassword } from '../workspace/clone-url.js';
import { ApiClient, CliError, clientOptionsFromEnv } from './client.js';
import { printJson, printTable } from './output.js';

/** A non-admin sees a repository by name and branch only; the rest is the admin's. */
interface RepoJson {
  name: string;
  default_branch: string;
  clone_url?: string;
  agent?: string;
  agent_settings?: Record<string, unknown>;
  git_credential_ref?: string | null;
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
    .option('--git-token-stdin', 'read the password or token git sends over https from stdin (stored encrypted in the database, as db:repo-<name>-<hash>-git-token)')
    .option('--git-token-ref <ref>', 'a credential reference for that password or token instead (env:…, vault:…, db:…, aws-secrets-manager:…)')
    .option('--json', 'print JSON')
    .action(async (name: string, o: { url: string; defaultBranch: string; agent: string; agentCommand?: string; model?: string; gitTokenStdin?: boolean; gitTokenRef?: string; json?: boolean }) => {
      const settings: Record<string, unknown> = {};
      if (o.agentCommand !== undefined) settings.command = o.agentCommand;
      if (o.model !== undefined) settings.model = o.model;
      if (o.agent === 'command' && o.agentCommand === undefined) throw new CliError('--agent command needs --agent-command CMD');
      if (o.gitTokenStdin && o.gitTokenRef !== undefined) throw new CliError('use either --git-token-stdin or --git-token-ref, not both');
      const gitToken = o.gitTokenStdin ? readFileSync(0, 'utf8').trim() : undefined;
      if (gitToken === '') throw new CliError('--git-token-stdin: standard input is empty');
      const res = await new ApiClient(clientOptionsFromEnv()).request<{ repo: RepoJson }>('POST', '/v1/repos', {
        name,
        clone_url: o.url,
        default_branch: o.defaultBranch,
        agent: o.agent,
        agent_settings: settings,
        ...(gitToken !== undefined ? { git_token: gitToken } : {}),
        ...(o.gitTokenRef !== undefined ? { git_credential_ref: o.gitTokenRef } : {}),
      });
      for (const [flag, held] of [['--git-token-ref', o.gitTokenRef !== undefined && displayReference(o.gitTokenRef) === LITERAL_DISPLAY], ['--url', cloneUrlHasPassword(o.url)]] as const) {
        if (held) process.stderr.write(`warning: ${flag} held a password or token; it is stored encrypted in the database, but command-line arguments are visible to other users of this machine: use --git-token-stdin next time\n`);
      }
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
