import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { sql } from 'kysely';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CredentialResolver } from '../../src/credentials/index.js';
import { repoGitSecretName } from '../../src/orchestrator/repo-git-credential.js';
import { runCli } from '../support/cli.js';
import { createTestDatabase, postgresSkipReason, tempDir } from '../support/databases.js';
import { dumpDatabase } from '../support/db-dump.js';
import { startGitHttpServer, type GitHttpServer } from '../support/git-http-server.js';
import { branchesOf, createBareRemote, git } from '../support/git-repos.js';
import { startTestServer, waitFor, type TestServer } from '../support/server.js';

/**
 * A repository's git password or token (in its clone URL, or given with --git-token-stdin) is kept encrypted
 * in the database and named by the repository's git credential reference: it is in no response, no table, no
 * workspace's .git/config and no git command line, and git still clones and pushes over an HTTP server that
 * requires it. A password left in a stored clone URL is reported by doctor and moved at the next start.
 */

// Every git command this process starts goes through this wrapper, which writes down its arguments.
const wrapperDir = tempDir('bgagent-git-wrapper-');
const argvLog = join(wrapperDir, 'argv.log');
const realPath = process.env.PATH;
beforeAll(() => {
  const realGit = execFileSync('sh', ['-c', 'command -v git'], { encoding: 'utf8' }).trim();
  writeFileSync(join(wrapperDir, 'git'), `#!/bin/sh\nfor a in "$@"; do printf '%s\\n' "$a" >> '${argvLog}'; done\nexec '${realGit}' "$@"\n`);
  chmodSync(join(wrapperDir, 'git'), 0o755);
  writeFileSync(argvLog, '');
  process.env.PATH = `${wrapperDir}:${realPath}`;
});
afterAll(() => {
  process.env.PATH = realPath;
  rmSync(wrapperDir, { recursive: true, force: true });
});

const TERMINAL = ['COMPLETED', 'FAILED', 'CANCELLED', 'TIMED_OUT'];
// The agent shows the workspace's git config, then changes a file.
const AGENT = 'cat .git/config; echo work > out.txt';

/** Every file under a directory as text (SQLite's files too, unless told otherwise). */
function filesText(dir: string, skip: RegExp = /^$/): string {
  let text = '';
  for (const entry of readdirSync(dir, { recursive: true, encoding: 'utf8' })) {
    const path = join(dir, entry);
    if (!skip.test(entry) && statSync(path).isFile()) text += readFileSync(path, 'latin1');
  }
  return text;
}

/** The forms of a secret that would give it away. */
const formsOf = (secret: string, user: string) => [secret, encodeURIComponent(secret), Buffer.from(`${user}:${secret}`).toString('base64')];

for (const dialect of ['sqlite', 'postgres'] as const) {
  describe.skipIf(dialect === 'postgres' && postgresSkipReason)(`a repository's git credential on ${dialect}`, () => {
    const cleanups: (() => Promise<void>)[] = [];
    afterEach(async () => {
      for (const c of cleanups.splice(0).reverse()) await c();
    });

    /** A server on its own data dir and database (a restart reuses them), and a git server that requires the token. */
    async function rig() {
      const token = `git_canary_${randomBytes(12).toString('hex')}`;
      const remote = createBareRemote();
      git(remote.path, 'config', 'http.receivepack', 'true');
      const gitServer: GitHttpServer = await startGitHttpServer({ root: dirname(remote.path), token });
      const dataDir = tempDir();
      const database = dialect === 'postgres' ? await createTestDatabase() : undefined;
      let server: TestServer | undefined = await startTestServer({ dialect, dataDir, databaseUrl: database?.url, env: { BGAGENT_GIT_CREDENTIAL_REFS: 'env:BGAGENT_TEST_NO_SUCH_GIT_TOKEN' } });
      cleanups.push(async () => {
        await server?.close(1000);
        await database?.drop();
        await gitServer.close();
        rmSync(dataDir, { recursive: true, force: true });
        rmSync(dirname(remote.path), { recursive: true, force: true });
      });
      writeFileSync(argvLog, '');
      return {
        token,
        remote,
        gitServer,
        dataDir,
        url: `${gitServer.url}/remote.git`,
        cliEnv: { BGAGENT_DATA_DIR: dataDir, BGAGENT_SANDBOX: 'none', ...(database ? { BGAGENT_DATABASE_URL: database.url } : {}) },
        get server() {
          return server!;
        },
        async restart(env?: Record<string, string>) {
          await server!.close(1000);
          server = undefined;
          server = await startTestServer({ dialect, dataDir, databaseUrl: database?.url, env });
        },
        resolve: async (ref: string) => (await new CredentialResolver({ dataDir, secretRows: server!.store.secrets }).resolve(ref)).reveal(),
        /** Runs a task on the repository to its end; returns it and its events. */
        async runTask(repo: string) {
          const created = await server!.api('POST', '/v1/tasks', { body: { repo, task: 'Change a file' } });
          expect(created.status, JSON.stringify(created.body)).toBe(201);
          const task = await waitFor(async () => {
            const { body } = await server!.api('GET', `/v1/tasks/${created.body.task.id}`);
            return TERMINAL.includes(body.task.status) ? body.task : undefined;
          }, 20_000, 'the task to end');
          const events = (await server!.api('GET', `/v1/tasks/${task.id}/events`)).body;
          return { task, events };
        },
      };
    }

    for (const form of ['a password in the clone URL', 'bgagent repo add --git-token-stdin', 'a value in bgagent repo add --git-token-ref'] as const) {
      it(`keeps ${form} encrypted in the database; git clones and pushes with it and sees it nowhere else`, async () => {
        const r = await rig();
        const ref = `db:${repoGitSecretName('acme/site')}`;
        const withUser = r.url.replace('http://', 'http://bot@');
        // Responses hide a URL's user name too (a token may be given as one).
        const shown = { clone_url: r.url.replace('http://', 'http://[redacted]@'), git_credential_ref: ref };
        let added: string;
        if (form === 'a password in the clone URL') {
          const res = await r.server.api('POST', '/v1/repos', { body: { name: 'acme/site', clone_url: r.url.replace('http://', `http://bot:${r.token}@`), agent: 'command', agent_settings: { command: AGENT } } });
          expect(res.status, JSON.stringify(res.body)).toBe(201);
          added = JSON.stringify(res.body);
          expect(res.body.repo).toMatchObject(shown);
        } else {
          const stdin = form === 'bgagent repo add --git-token-stdin';
          const cli = await runCli(['repo', 'add', 'acme/site', '--url', withUser, '--agent', 'command', '--agent-command', AGENT, ...(stdin ? ['--git-token-stdin'] : ['--git-token-ref', r.token]), '--json'], { ...r.cliEnv, BGAGENT_URL: r.server.url }, stdin ? `${r.token}\n` : undefined);
          expect(cli.code, cli.stderr).toBe(0);
          if (stdin) expect(cli.stderr).toBe('');
          else expect(cli.stderr).toContain('warning: --git-token-ref held a password or token; it is stored encrypted in the database, but command-line arguments are visible');
          // The argument was visible, by the user's choice; it is no argument of any git command.
          added = cli.stdout;
          expect(JSON.parse(cli.stdout).repo).toMatchObject(shown);
        }
        expect(await r.server.store.repos.get('acme/site')).toMatchObject({ cloneUrl: withUser, gitCredentialRef: ref });
        expect(await r.resolve(ref)).toBe(r.token);
        // A user sees the repository by name and branch only.
        const user = (await r.server.api('POST', '/v1/tokens', { body: { user: 'carol' } })).body.token as string;
        expect((await r.server.api('GET', '/v1/repos/acme/site', { token: user })).body).toEqual({ repo: { name: 'acme/site', default_branch: 'main' } });

        const { task, events } = await r.runTask('acme/site');
        expect(task).toMatchObject({ status: 'COMPLETED', outcome: 'changes_pushed' });
        expect(branchesOf(r.remote.path)).toContain(task.branch_name);
        expect(r.gitServer.requests.some((q) => q.path.endsWith('/git-receive-pack') && q.authorized)).toBe(true);
        // The workspace's .git/config, as the agent saw it: the remote without user or token.
        const output = events.events.filter((e: { type: string }) => e.type === 'agent_output').map((e: { message: string }) => e.message).join('\n');
        expect(output).toContain(`url = "${r.url}"`);
        const argv = readFileSync(argvLog, 'utf8');
        expect(argv).toContain(withUser); // the wrapper did see git's command lines

        const listed = await r.server.api('GET', '/v1/repos');
        const everything = [added, JSON.stringify(listed.body), JSON.stringify(events), JSON.stringify(task), await dumpDatabase(r.server.store), filesText(r.dataDir), argv].join('\n');
        for (const leak of formsOf(r.token, 'bot')) expect(everything).not.toContain(leak);

        // Offboarding the repository forgets the secret kept for it.
        expect((await r.server.api('DELETE', '/v1/repos/acme/site')).status).toBe(200);
        expect(await r.server.store.secrets.get(repoGitSecretName('acme/site'))).toBeUndefined();
      });
    }

    it('takes a credential reference as scheme and name, refuses a malformed one or a second credential without changing anything, and fails a task whose reference does not resolve', async () => {
      const r = await rig();
      const body = { name: 'demo', clone_url: r.url, agent: 'command', agent_settings: { command: AGENT } };
      const res = await r.server.api('POST', '/v1/repos', { body: { ...body, git_credential_ref: 'env:BGAGENT_TEST_NO_SUCH_GIT_TOKEN' } });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      expect(res.body.repo.git_credential_ref).toBe('env:BGAGENT_TEST_NO_SUCH_GIT_TOKEN');

      const before = await dumpDatabase(r.server.store);
      const refused = [
        { ...body, git_credential_ref: 'env:not a name' },
        { ...body, git_credential_ref: 'db:' },
        { ...body, clone_url: r.url.replace('http://', `http://bot:${r.token}@`), git_token: r.token },
        { ...body, git_token: r.token, git_credential_ref: 'env:X' },
        { ...body, clone_url: `ssh://git:${r.token}@127.0.0.1/remote.git` },
      ];
      for (const bad of refused) {
        const answer = await r.server.api('POST', '/v1/repos', { body: bad });
        expect(answer.status, JSON.stringify(bad)).toBe(400);
        expect(answer.body.error.code).toBe('VALIDATION_ERROR');
        expect(JSON.stringify(answer.body)).not.toContain(r.token);
      }
      expect(await dumpDatabase(r.server.store)).toBe(before);

      const { task, events } = await r.runTask('demo');
      expect(task).toMatchObject({ status: 'FAILED', error_code: 'GIT_CREDENTIAL_UNAVAILABLE' });
      expect(task.error_message).toContain('the git credential of demo cannot be resolved');
      // The task's owner may be no admin: the reference, a repository setting, is only in the server log.
      expect(JSON.stringify({ task, events })).not.toContain('BGAGENT_TEST_NO_SUCH_GIT_TOKEN');
    });

    it('names a server secret only when BGAGENT_GIT_CREDENTIAL_REFS lists it: the route refuses others, a task will not use one stored before, doctor shows it', async () => {
      const r = await rig();
      const variable = 'BGAGENT_TEST_SITE_GIT_TOKEN';
      process.env[variable] = r.token;
      cleanups.push(async () => void delete process.env[variable]);
      const body = (name: string, ref: string) => ({ name, clone_url: r.url, agent: 'command', agent_settings: { command: AGENT }, git_credential_ref: ref });

      expect((await r.server.api('GET', '/v1/repos')).status).toBe(200); // the token's first use is recorded
      const before = await dumpDatabase(r.server.store);
      for (const ref of [`env:${variable}`, 'vault:site-token', 'aws-secrets-manager:git/site', 'agentcore:site']) {
        const res = await r.server.api('POST', '/v1/repos', { body: body('demo', ref) });
        expect(res.status, ref).toBe(400);
        expect(res.body.error).toMatchObject({ code: 'VALIDATION_ERROR', message: expect.stringContaining('BGAGENT_GIT_CREDENTIAL_REFS') });
      }
      expect(await dumpDatabase(r.server.store)).toBe(before);

      // A row written before the rule: the task fails before git runs, and sends the secret nowhere.
      await r.server.store.repos.upsert({ name: 'demo', cloneUrl: r.url, defaultBranch: 'main', agent: 'command', agentSettings: { command: AGENT }, gitCredentialRef: `env:${variable}` });
      const { task, events } = await r.runTask('demo');
      expect(task).toMatchObject({ status: 'FAILED', error_code: 'GIT_CREDENTIAL_UNAVAILABLE' });
      expect(task.error_message).toContain('names a secret repositories may not use');
      expect(JSON.stringify({ task, events })).not.toContain(variable);
      expect(r.gitServer.requests).toEqual([]);
      const doctor = JSON.parse((await runCli(['doctor', '--json'], { ...r.cliEnv, [variable]: r.token })).stdout).credentials;
      expect(doctor).toContainEqual(expect.objectContaining({ variable: 'Repository demo: git credential', status: 'error', message: expect.stringContaining('BGAGENT_GIT_CREDENTIAL_REFS') }));

      // Listed (exactly, or by a prefix): accepted, and git uses it.
      await r.restart({ BGAGENT_GIT_CREDENTIAL_REFS: `env:${variable}, aws-secrets-manager:git/*` });
      for (const ref of ['aws-secrets-manager:git/site', 'aws-secrets-manager:git/site#token']) {
        expect((await r.server.api('POST', '/v1/repos', { body: body('other', ref) })).status, ref).toBeLessThan(300);
      }
      for (const ref of ['aws-secrets-manager:gitx', 'aws-secrets-manager:prod/git/site', `env:${variable}X`, 'vault:git/site']) {
        expect((await r.server.api('POST', '/v1/repos', { body: body('other', ref) })).status, ref).toBe(400);
      }
      expect((await r.server.api('POST', '/v1/repos', { body: body('demo', `env:${variable}`) })).status).toBe(200);
      expect((await r.runTask('demo')).task).toMatchObject({ status: 'COMPLETED', outcome: 'changes_pushed' });
    });

    it('doctor warns about a password left in a stored clone URL; the next start moves it into the database, and git uses it', async () => {
      const r = await rig();
      const added = await r.server.api('POST', '/v1/repos', { body: { name: 'legacy', clone_url: r.url, agent: 'command', agent_settings: { command: AGENT } } });
      expect(added.status).toBe(201);
      // What a row from before looks like: the password in the URL, no git credential.
      const old = r.url.replace('http://', `http://bot:${r.token}@`);
      await sql`update repos set clone_url = ${old}, git_credential_ref = ${null} where name = 'legacy'`.execute(r.server.store.db.kysely);

      const doctor = await runCli(['doctor', '--json'], r.cliEnv);
      expect(doctor.stdout + doctor.stderr).not.toContain(r.token);
      expect(JSON.parse(doctor.stdout).credentials).toContainEqual({
        variable: 'Repository legacy: clone URL',
        ref: '(literal value)',
        status: 'warn',
        message: expect.stringContaining('a password in the clone URL'),
        remedy: expect.stringContaining('restart `bgagent serve`'),
      });

      await r.restart();
      const ref = `db:${repoGitSecretName('legacy', 'moved-git-token')}`;
      expect(await r.server.store.repos.get('legacy')).toMatchObject({ cloneUrl: r.url.replace('http://', 'http://bot@'), gitCredentialRef: ref });
      expect(await r.resolve(ref)).toBe(r.token);
      expect(await dumpDatabase(r.server.store)).not.toContain(r.token);
      const again = JSON.parse((await runCli(['doctor', '--json'], r.cliEnv)).stdout).credentials as { variable: string; status: string }[];
      expect(again).toContainEqual(expect.objectContaining({ variable: 'Repository legacy: git credential', status: 'ok' }));
      expect(again.map((row) => row.variable)).not.toContain('Repository legacy: clone URL');

      const { task } = await r.runTask('legacy');
      expect(task).toMatchObject({ status: 'COMPLETED', outcome: 'changes_pushed' });
      expect(branchesOf(r.remote.path)).toContain(task.branch_name);
    });
  });
}
