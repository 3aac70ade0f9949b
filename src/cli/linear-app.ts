import { setTimeout as sleep } from 'node:timers/promises';
import type { Command } from 'commander';
import { ApiClient, CliError, clientOptionsFromEnv } from './client.js';
import { printJson } from './output.js';

const api = () => new ApiClient(clientOptionsFromEnv());

interface AppSetup {
  callback_url: string;
  webhook_url: string;
  scopes: string[];
  webhook_events: { category: string; why: string }[];
  public_url_set: boolean;
  configured: { client_id: boolean; client_secret: boolean; webhook_secret: boolean };
}

interface InstallView {
  install: { id: string; status: 'pending' | 'exchanging' | 'completed' | 'failed' | 'expired'; workspace_id: string | null; error: string | null; expires_at: string };
  workspace: { id: string; name: string; url_key: string; app_user_id: string | null; auth_kind: string; status: string } | null;
}

const mark = (set: boolean) => (set ? '(set)' : '(not set)');

/** `bgagent linear app-setup` and `bgagent linear install`: bgagent as a Linear OAuth app (agent sessions). */
export function registerLinearAppCommands(linear: Command): void {
  linear
    .command('app-setup')
    .description('Print what to register in Linear for the bgagent OAuth app (callback and webhook URLs, scopes, webhook events) and the variables to set next')
    .option('--json', 'print JSON')
    .action(async (o: { json?: boolean }) => {
      const s = await api().get<AppSetup>('/v1/linear/oauth/app-setup');
      if (o.json) return printJson(s);
      const lines = [
        'In Linear, Settings → API → Applications → New application (https://linear.app/settings/api/applications/new):',
        '',
        `  Callback URL:  ${s.callback_url}`,
        `  Webhooks:      enable them, URL ${s.webhook_url}, with these event categories:`,
        ...s.webhook_events.map((e) => `                   - ${e.category}: ${e.why}`),
        `  Scopes:        ${s.scopes.join(',')} (bgagent requests them at install, with actor=app, so it acts as its own app user)`,
        '',
        'Then give bgagent the app credentials and restart `bgagent serve`:',
        `  LINEAR_OAUTH_CLIENT_ID=<the app's client ID>  ${mark(s.configured.client_id)}`,
        `  LINEAR_OAUTH_CLIENT_SECRET=vault:linear-oauth-client-secret  ${mark(s.configured.client_secret)}`,
        '      store it first: bgagent credentials add linear-oauth-client-secret --type secret --from-stdin',
        `  LINEAR_WEBHOOK_SECRET=vault:linear-webhook-secret  ${mark(s.configured.webhook_secret)}`,
        "      the app's webhook signing secret: bgagent credentials add linear-webhook-secret --type webhook-secret --from-stdin",
        '  (vault: is this machine\'s vault: with several machines, give every one the same env: or aws-secrets-manager: reference instead)',
      ];
      if (!s.public_url_set) lines.push('', `BGAGENT_PUBLIC_URL is not set: the URLs above use the address you reached the server at; set it to the address Linear can reach.`);
      lines.push('', 'Next: bgagent linear install');
      process.stdout.write(`${lines.join('\n')}\n`);
    });

  linear
    .command('install')
    .description('Install bgagent in a Linear workspace as an OAuth app (actor=app, PKCE): prints the URL to approve, waits until Linear calls back')
    .option('--timeout <seconds>', 'how long to wait for the approval (default: until the URL expires)')
    .option('--json', 'print JSON (the URL goes to stderr)')
    .action(async (o: { timeout?: string; json?: boolean }) => {
      const client = api();
      const { data } = await client.request<{ install: InstallView['install']; authorize_url: string; expires_in_seconds: number }>('POST', '/v1/linear/oauth/installs');
      const message = `Open this URL in a browser where you are signed in to Linear as a workspace admin, and approve the installation:\n\n  ${data.authorize_url}\n\n`;
      if (o.json) process.stderr.write(message);
      else process.stdout.write(message);
      const timeoutS = o.timeout === undefined ? data.expires_in_seconds : Number(o.timeout);
      if (!Number.isFinite(timeoutS) || timeoutS <= 0) throw new CliError('--timeout must be a positive number of seconds');
      const view = await waitForInstall(client, data.install.id, timeoutS * 1000);
      if (o.json) return printJson(view);
      const w = view.workspace!;
      process.stdout.write(`Installed bgagent in Linear workspace "${w.name}" (${w.id}); its app user is ${w.app_user_id}.\nNext: bgagent linear onboard-project <project-id> --repo <name>, and delegate an issue to bgagent in Linear.\n`);
    });
}

/** Polls the install until the callback completed it (or it failed, expired, or we gave up), showing progress on stderr. */
async function waitForInstall(client: ApiClient, id: string, timeoutMs: number): Promise<InstallView> {
  const started = Date.now();
  const tty = process.stderr.isTTY === true;
  let lastNote = started;
  process.stderr.write('Waiting for the approval in Linear…\n');
  for (;;) {
    const view = await client.get<InstallView>(`/v1/linear/oauth/installs/${encodeURIComponent(id)}`);
    const { status, error } = view.install;
    if (status === 'completed' && view.workspace) {
      if (tty) process.stderr.write('\n');
      return view;
    }
    if (status === 'failed') throw new CliError(`the installation failed: ${error ?? 'unknown reason'}`);
    if (status === 'expired') throw new CliError('the install URL expired before it was approved; run `bgagent linear install` again');
    const elapsed = Date.now() - started;
    if (elapsed >= timeoutMs) throw new CliError(`gave up waiting after ${Math.round(elapsed / 1000)}s; run \`bgagent linear install\` again when ready`);
    const note = status === 'exchanging' ? 'approved; exchanging the code…' : `still waiting (${Math.round(elapsed / 1000)}s)…`;
    if (tty) process.stderr.write(`\r${note}   `);
    else if (Date.now() - lastNote >= 10_000 || status === 'exchanging') {
      process.stderr.write(`${note}\n`);
      lastNote = Date.now();
    }
    await sleep(Math.min(1000, Math.max(50, timeoutMs - elapsed)));
  }
}
