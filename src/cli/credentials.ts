import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { loadConfig, ownSecretReferences, type Config } from '../config/config.js';
import { createCredentialResolver, CredentialError, LITERAL_DISPLAY, parseCredentialReference } from '../credentials/index.js';
import type { Store } from '../store/index.js';
import type { CredentialStatus } from '../credentials/resolver.js';
import { VAULT_ENTRY_TYPES, VaultError, type VaultEntryType } from '../credentials/vault.js';
import { resolveSandbox, sandboxUnavailableMessage, setprivPath, type SandboxState } from '../sandbox/index.js';
import { cloneUrlHasPassword } from '../workspace/clone-url.js';
import { gitCredentialPolicy, gitCredentialRefRefusal } from '../orchestrator/repo-git-credential.js';
import { CliError } from './client.js';

/** Where the credentials commands read and write; tests pass their own. */
export interface CredentialsCliIo {
  env: NodeJS.ProcessEnv;
  stdin: NodeJS.ReadableStream & { isTTY?: boolean; setRawMode?: (raw: boolean) => unknown };
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

const defaultIo = (): CredentialsCliIo => ({ env: process.env, stdin: process.stdin, stdout: process.stdout, stderr: process.stderr });

interface DoctorRow extends CredentialStatus {
  variable: string;
}

/**
 * `bgagent credentials add|list|remove|test` and `bgagent doctor`. They work on the local data dir
 * directly: no server needed. Values are never printed.
 */
export function registerCredentialsCommands(program: Command, io: CredentialsCliIo = defaultIo()): void {
  const out = (s: string) => io.stdout.write(s);
  const config = () => loadConfig(io.env);
  // The resolver's vault: BGAGENT_VAULT_KEY resolved as a credential reference, as `serve` does.
  const vault = (c: Config) => createCredentialResolver(c).vault;
  const vaultCall = async <T>(fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof VaultError || err instanceof CredentialError) throw new CliError(`${err.message}${err.remedy ? ` — ${err.remedy}` : ''}`);
      throw err;
    }
  };

  const credentials = program.command('credentials').description('Manage secrets in the local vault and test credential references');

  credentials
    .command('add <name>')
    .description('Store a secret in the local vault (prompted without echo, or --from-stdin / --from-env)')
    .option('--type <type>', `one of: ${VAULT_ENTRY_TYPES.join(', ')}`, 'api-key')
    .option('--from-stdin', 'read the value from standard input')
    .option('--from-env <var>', 'read the value from an environment variable')
    .action(async (name: string, o: { type: string; fromStdin?: boolean; fromEnv?: string }) => {
      if (!(VAULT_ENTRY_TYPES as readonly string[]).includes(o.type)) throw new CliError(`--type must be one of: ${VAULT_ENTRY_TYPES.join(', ')}`);
      if (o.fromStdin && o.fromEnv) throw new CliError('use either --from-stdin or --from-env, not both');
      let value: string;
      if (o.fromEnv) {
        value = io.env[o.fromEnv] ?? '';
        if (!value) throw new CliError(`environment variable ${o.fromEnv} is not set or empty`);
      } else if (o.fromStdin) {
        value = (await readAll(io.stdin)).replace(/\r?\n$/, '');
      } else if (io.stdin.isTTY && io.stdin.setRawMode) {
        value = await promptHidden(io, `Value for ${name}: `);
      } else {
        throw new CliError('standard input is not a terminal: pass --from-stdin or --from-env VAR');
      }
      if (!value) throw new CliError('empty value: nothing stored');
      const c = config();
      const { created } = await vaultCall(() => vault(c).set(name, o.type as VaultEntryType, value));
      out(`${created ? 'Added' : 'Updated'} ${name} (${o.type}). Reference it as vault:${name}\n`);
    });

  credentials
    .command('list')
    .description('List vault entries: names, types and dates, never values')
    .option('--json', 'print JSON')
    .action(async (o: { json?: boolean }) => {
      const entries = await vaultCall(() => vault(config()).list());
      if (o.json) return void out(`${JSON.stringify({ credentials: entries }, null, 2)}\n`);
      if (entries.length === 0) return void out('(none)\n');
      out(table(entries.map((e) => [e.name, e.type, e.createdAt.slice(0, 19).replace('T', ' '), e.updatedAt.slice(0, 19).replace('T', ' ')]), ['NAME', 'TYPE', 'CREATED', 'UPDATED']));
    });

  credentials
    .command('remove <name>')
    .description('Remove a vault entry')
    .action(async (name: string) => {
      const removed = await vaultCall(() => vault(config()).remove(name));
      if (!removed) throw new CliError(`no entry "${name}" in the vault`);
      out(`Removed ${name}\n`);
    });

  credentials
    .command('test <ref>')
    .description('Resolve a credential reference and report ok or why not (never the value)')
    .option('--json', 'print JSON')
    .action(async (ref: string, o: { json?: boolean }) => {
      const c = config();
      // db: references live in the database.
      const database = ref.startsWith('db:') ? await openDatabaseIfAny(c) : undefined;
      const status = await createCredentialResolver(c, undefined, database?.secrets).check(ref);
      await database?.close();
      if (o.json) out(`${JSON.stringify(status, null, 2)}\n`);
      else out(formatStatus(status));
      if (status.status === 'error') process.exitCode = 1;
    });

  program
    .command('doctor')
    .description('Check the agent sandbox and every configured credential reference')
    .option('--json', 'print JSON')
    .action(async (o: { json?: boolean }) => {
      const c = config();
      const database = await openDatabaseIfAny(c);
      const resolver = createCredentialResolver(c, undefined, database?.secrets);
      const repos = database ? await repoCredentials(database, c) : { references: [], passwordsInUrls: [], refusals: new Map<string, string>() };
      const stored = [...(database ? await linearWorkspaceReferences(database) : []), ...repos.references];
      const configured: [string, string | undefined][] = [
        ['LINEAR_API_KEY', c.linear.apiKeyRef],
        ['LINEAR_WEBHOOK_SECRET', c.linear.webhookSecretRef],
        ['GITHUB_TOKEN', c.github.tokenRef],
        ['ANTHROPIC_API_KEY', c.anthropic.apiKeyRef],
        // The App key matters only to a GitHub App setup; a token setup never sets it.
        ...(c.github.appId !== undefined || c.github.appPrivateKeyRef !== undefined
          ? [['GITHUB_APP_PRIVATE_KEY', c.github.appPrivateKeyRef] as [string, string | undefined]]
          : []),
        ...stored,
      ];
      const fromDatabase = new Set(stored.map(([variable]) => variable));
      const rows: DoctorRow[] = [];
      const unset: string[] = [];
      for (const [variable, ref] of configured) {
        if (ref === undefined) {
          unset.push(variable);
          continue;
        }
        const status = await resolver.check(ref);
        if (fromDatabase.has(variable) && parseCredentialReference(ref).kind === 'literal') {
          status.message = 'a literal secret stored in the database (from before secrets were encrypted there)';
          status.remedy = 'restart `bgagent serve`: at start it moves the value into the encrypted database secrets and stores a db: reference (or run `bgagent linear setup` again)';
        }
        // The built-in default only matters to users of the Linear integration.
        if (variable === 'LINEAR_API_KEY' && io.env.LINEAR_API_KEY === undefined && status.status === 'error') {
          status.status = 'warn';
          status.message = `${status.message} (the default; Linear features stay off until it resolves)`;
        }
        const refusal = repos.refusals.get(variable);
        if (refusal !== undefined) {
          status.status = 'error';
          status.message = `tasks refuse it: ${refusal}`;
          status.remedy = 'list it in BGAGENT_GIT_CREDENTIAL_REFS of every worker, or give the repository its own token (`bgagent repo add … --git-token-stdin`)';
        }
        rows.push({ variable, ...status });
      }
      for (const name of repos.passwordsInUrls) {
        rows.push({
          variable: `Repository ${name}: clone URL`,
          ref: LITERAL_DISPLAY,
          status: 'warn',
          message: 'a password in the clone URL stored in the database (from before repositories had a git credential)',
          remedy: `restart \`bgagent serve\`: at start it moves the password into the encrypted database secrets and stores a db: reference (or run \`bgagent repo add ${name} --url <URL without the password> --git-token-stdin\`)`,
        });
      }
      await database?.close();
      const sandbox = await sandboxStatus(c);
      const failed = rows.some((r) => r.status === 'error') || sandbox.status === 'error';
      if (o.json) {
        out(`${JSON.stringify({ ok: !failed, sandbox, credentials: rows, not_set: unset }, null, 2)}\n`);
      } else {
        out(`sandbox: ${sandbox.status === 'ok' ? 'ok' : sandbox.status.toUpperCase()}  ${sandbox.message}\n`);
        for (const r of rows) out(`${r.variable}: ${formatStatus(r)}`);
        for (const v of unset) out(`${v}: not set\n`);
        out(failed ? 'Some checks have errors.\n' : 'No errors.\n');
      }
      if (failed) process.exitCode = 1;
    });
}

/** Whether agents can run here, and how: what `serve` would find at start. */
async function sandboxStatus(c: Config): Promise<{ mode: string; status: 'ok' | 'warn' | 'error'; message: string }> {
  const state: SandboxState = await resolveSandbox(c.sandbox);
  if (state.mode === 'bwrap') return { mode: 'bwrap', status: 'ok', message: 'bubblewrap works: agents see only their workspace' };
  if (state.mode === 'unavailable') return { mode: 'unavailable', status: 'error', message: `${sandboxUnavailableMessage(state)} (tasks fail with SANDBOX_UNAVAILABLE)` };
  try {
    setprivPath();
  } catch (err) {
    return { mode: 'none', status: 'error', message: `BGAGENT_SANDBOX=none, but ${(err as Error).message}` };
  }
  return { mode: 'none', status: 'warn', message: 'BGAGENT_SANDBOX=none: agents run unconfined, as the server user' };
}

/** The data dir's or BGAGENT_DATABASE_URL's database, when there is one (doctor never creates it). */
async function openDatabaseIfAny(c: Config): Promise<Store | undefined> {
  if (!c.databaseUrl && !existsSync(join(c.dataDir, 'bgagent.db'))) return undefined;
  const { openStore } = await import('../store/index.js');
  return openStore({ dataDir: c.dataDir, databaseUrl: c.databaseUrl, migrate: false, poolSize: 1 });
}

/** The references each registered Linear workspace names (its API key or OAuth tokens, its signing secret). */
async function linearWorkspaceReferences(store: Store): Promise<[string, string | undefined][]> {
  try {
    const workspaces = await store.linear.listWorkspaces();
    return workspaces.flatMap((w): [string, string | undefined][] => {
      const signingSecret: [string, string | undefined] = [`Linear workspace ${w.name}: signing secret`, w.signing_secret_ref ?? undefined];
      if (w.auth_kind !== 'oauth') return [[`Linear workspace ${w.name}: API key`, w.api_key_ref], signingSecret];
      // A revoked install has no tokens on purpose (`bgagent linear install` brings them back).
      return w.status === 'revoked' ? [signingSecret] : [[`Linear workspace ${w.name}: OAuth tokens`, w.api_key_ref], signingSecret];
    });
  } catch {
    return []; // not migrated yet: no workspaces
  }
}

/** Each repository's git credential reference, and the repositories whose stored clone URL holds a password. */
async function repoCredentials(store: Store, c: Config): Promise<{ references: [string, string][]; passwordsInUrls: string[]; refusals: Map<string, string> }> {
  try {
    const repos = await store.repos.list();
    const withRef = repos.filter((r): r is typeof r & { gitCredentialRef: string } => !!r.gitCredentialRef);
    const variable = (name: string) => `Repository ${name}: git credential`;
    const policy = await gitCredentialPolicy(store, c.gitCredentialRefs, ownSecretReferences(c));
    return {
      references: withRef.map((r): [string, string] => [variable(r.name), r.gitCredentialRef]),
      passwordsInUrls: repos.filter((r) => cloneUrlHasPassword(r.cloneUrl)).map((r) => r.name),
      // What a task would refuse (BGAGENT_GIT_CREDENTIAL_REFS, bgagent's own secrets), as this configuration sees it.
      refusals: new Map(withRef.flatMap((r): [string, string][] => {
        const refusal = gitCredentialRefRefusal(r.name, r.gitCredentialRef, policy);
        return refusal === undefined ? [] : [[variable(r.name), refusal]];
      })),
    };
  } catch {
    return { references: [], passwordsInUrls: [], refusals: new Map() }; // not migrated yet
  }
}

function formatStatus(s: CredentialStatus): string {
  const label = { ok: 'ok', error: 'ERROR', warn: 'WARN', unavailable: 'UNAVAILABLE' }[s.status];
  const head = s.status === 'ok' ? `ok  ${s.ref}\n` : `${label}  ${s.message.startsWith(s.ref) ? s.message : `${s.ref}: ${s.message}`}\n`;
  return s.remedy && s.status !== 'ok' ? `${head}  remedy: ${s.remedy}\n` : head;
}

function table(rows: string[][], header: string[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ');
  return [line(header), ...rows.map(line)].join('\n') + '\n';
}

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

/** Reads one line from a TTY in raw mode without echoing it. */
function promptHidden(io: CredentialsCliIo, prompt: string): Promise<string> {
  const stdin = io.stdin;
  io.stderr.write(prompt);
  return new Promise((resolve, reject) => {
    let value = '';
    const done = (err?: Error) => {
      stdin.removeListener('data', onData);
      stdin.setRawMode?.(false);
      stdin.pause();
      io.stderr.write('\n');
      if (err) reject(err);
      else resolve(value);
    };
    const onData = (data: Buffer | string) => {
      for (const ch of data.toString('utf8')) {
        if (ch === '\r' || ch === '\n' || ch === '\u0004') return done();
        if (ch === '\u0003') return done(new CliError('cancelled'));
        if (ch === '\u007f' || ch === '\b') value = value.slice(0, -1);
        else value += ch;
      }
    };
    stdin.setRawMode?.(true);
    stdin.resume();
    stdin.on('data', onData);
  });
}
