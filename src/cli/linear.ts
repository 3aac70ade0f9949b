import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { ApiClient, clientOptionsFromEnv } from './client.js';
import { registerLinearAppCommands } from './linear-app.js';
import { registerLinearSessionCommands } from './linear-sessions.js';
import { printJson, printTable } from './output.js';
import { displayReference, LITERAL_DISPLAY } from '../credentials/index.js';

const api = () => new ApiClient(clientOptionsFromEnv());

function readStdin(): string {
  return readFileSync(0, 'utf8').trim();
}

export function registerLinearCommands(program: Command): void {
  const linear = program.command('linear').description('Connect Linear: labelled issues become tasks, and every rejection is reported on the issue');
  registerLinearAppCommands(linear);
  registerLinearSessionCommands(linear);

  linear
    .command('setup')
    .description('Register the Linear workspace of an API key (a key given as a value is stored encrypted in the database, as db:linear-<workspace>-api-key), link its owner to the admin user, print the webhook URL')
    .option('--api-key-stdin', 'read the Linear API key from stdin')
    .option('--api-key-ref <ref>', 'use a credential reference instead (env:…, vault:…, aws-secrets-manager:…, agentcore:…); prefer --api-key-stdin for a value: arguments are visible to other users of the machine')
    .option('--signing-secret-stdin', "read the webhook's signing secret from stdin (after the API key, one per line)")
    .option('--signing-secret-ref <ref>', 'a credential reference for the signing secret')
    .option('--json', 'print JSON')
    .action(async (o: { apiKeyStdin?: boolean; apiKeyRef?: string; signingSecretStdin?: boolean; signingSecretRef?: string; json?: boolean }) => {
      const lines = o.apiKeyStdin || o.signingSecretStdin ? readStdin().split('\n').map((l) => l.trim()) : [];
      const body: Record<string, string> = {};
      if (o.apiKeyStdin) body.api_key = lines.shift() ?? '';
      if (o.apiKeyRef) body.api_key_ref = o.apiKeyRef;
      if (o.signingSecretStdin) body.signing_secret = lines.shift() ?? '';
      if (o.signingSecretRef) body.signing_secret_ref = o.signingSecretRef;
      const { data } = await api().request<{ workspace: { id: string; name: string; signing_secret_ref: string | null }; viewer: { name: string }; webhook_url: string }>('POST', '/v1/linear/setup', body);
      for (const [flag, given] of [['--api-key-ref', o.apiKeyRef], ['--signing-secret-ref', o.signingSecretRef]] as const) {
        if (given !== undefined && displayReference(given) === LITERAL_DISPLAY) {
          process.stderr.write(`warning: ${flag} held a value, not a credential reference; it is stored encrypted in the database, but command-line arguments are visible to other users of this machine: use ${flag.replace('-ref', '-stdin')} next time\n`);
        }
      }
      if (o.json) return printJson(data);
      process.stdout.write(
        [
          `Linear workspace "${data.workspace.name}" (${data.workspace.id}) is set up; ${data.viewer.name} is linked to the admin user.`,
          '',
          `In Linear, Settings → API → Webhooks: create a webhook for Issue events with URL ${data.webhook_url}.`,
          data.workspace.signing_secret_ref
            ? `Signing secret: ${data.workspace.signing_secret_ref}.`
            : "Then give bgagent the webhook's signing secret: `bgagent linear setup --api-key-ref … --signing-secret-stdin`, or set LINEAR_WEBHOOK_SECRET to a credential reference.",
          'Next: bgagent linear onboard-project <project-id> --repo <name>',
        ].join('\n') + '\n',
      );
    });

  linear
    .command('onboard-project <projectId>')
    .description('Map a Linear project to an onboarded repository; its labelled issues become tasks there')
    .requiredOption('--repo <name>', 'an onboarded repository')
    .option('--label <label>', 'the trigger label for this project', 'bgagent')
    .option('--workspace <id>', 'the workspace, when several are set up')
    .option('--json', 'print JSON')
    .action(async (projectId: string, o: { repo: string; label: string; workspace?: string; json?: boolean }) => {
      const { data } = await api().request<{ project: { name: string; repo: string; label: string } }>('POST', '/v1/linear/projects', { project_id: projectId, repo: o.repo, label: o.label, workspace_id: o.workspace });
      if (o.json) return printJson(data);
      process.stdout.write(`Project "${data.project.name}" → ${data.project.repo}; label an issue "${data.project.label}" to start a task.\n`);
    });

  linear
    .command('list-projects')
    .description('List Linear projects mapped to repositories')
    .option('--json', 'print JSON')
    .action(async (o: { json?: boolean }) => {
      const data = await api().get<{ projects: Record<string, unknown>[] }>('/v1/linear/projects');
      if (o.json) return printJson(data);
      printTable(data.projects, ['project_id', 'name', 'repo', 'label', 'status']);
    });

  linear
    .command('offboard-project <projectId>')
    .description('Stop taking tasks from a Linear project (labelled issues are told it was removed)')
    .option('--json', 'print JSON')
    .action(async (projectId: string, o: { json?: boolean }) => {
      const { data } = await api().request<{ project: { name: string } }>('DELETE', `/v1/linear/projects/${encodeURIComponent(projectId)}`);
      if (o.json) return printJson(data);
      process.stdout.write(`Offboarded "${data.project.name}".\n`);
    });

  linear
    .command('link')
    .description('Link a Linear user to a bgagent user, so their labels start tasks as that user')
    .requiredOption('--linear-user <idOrEmail>', "the Linear user's id or email")
    .requiredOption('--user <name>', 'the bgagent user (created if new)')
    .option('--workspace <id>', 'the workspace, when several are set up')
    .option('--json', 'print JSON')
    .action(async (o: { linearUser: string; user: string; workspace?: string; json?: boolean }) => {
      const { data } = await api().request<{ link: { linear_user_name: string; user: string } }>('POST', '/v1/linear/links', { linear_user: o.linearUser, user: o.user, workspace_id: o.workspace });
      if (o.json) return printJson(data);
      process.stdout.write(`Linked ${data.link.linear_user_name} → ${data.link.user}\n`);
    });

  linear
    .command('users')
    .description('List linked Linear users')
    .option('--json', 'print JSON')
    .action(async (o: { json?: boolean }) => {
      const data = await api().get<{ links: Record<string, unknown>[] }>('/v1/linear/links');
      if (o.json) return printJson(data);
      printTable(data.links, ['linear_user_name', 'linear_user_email', 'linear_user_id', 'user']);
    });

}
