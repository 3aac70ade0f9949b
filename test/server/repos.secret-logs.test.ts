import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log.js';
import { tempDir } from '../support/databases.js';
import { startGitHttpServer, type GitHttpServer } from '../support/git-http-server.js';
import { startTestServer, waitFor, type TestServer } from '../support/server.js';

/**
 * Canary git passwords given every way a repository takes one (in the clone URL, as git_token, as a value in
 * git_credential_ref, left in a stored clone URL and moved at start) and used by git against a host that
 * refuses them: no log line, at any level, holds one.
 */
describe('git credentials in the server log', () => {
  let server: TestServer | undefined;
  let gitServer: GitHttpServer | undefined;
  afterEach(async () => {
    await server?.destroy();
    await gitServer?.close();
    server = gitServer = undefined;
  });

  it('never appear, whichever way they were given and however git fails', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _enc, done) {
        lines.push(...String(chunk).split('\n').filter(Boolean));
        done();
      },
    });
    const logger = createLogger({ level: 'trace', destination: sink });
    const dataDir = tempDir();
    server = await startTestServer({ dialect: 'sqlite', dataDir, logger });
    const canary = () => `pw_canary_${randomBytes(8).toString('hex')}`;
    const secrets = [canary(), canary(), canary(), canary()];
    // A git host that wants another password: git asks its credential helper, sends the canary and fails.
    gitServer = await startGitHttpServer({ root: tempDir(), token: canary() });
    const url = `${gitServer.url}/remote.git`;
    const repo = (name: string, extra: Record<string, unknown>) => ({ name, clone_url: url, agent: 'command', agent_settings: { command: 'true' }, ...extra });
    const bodies = [
      repo('in-url', { clone_url: url.replace('http://', `http://bot:${secrets[0]}@`) }),
      repo('as-token', { git_token: secrets[1] }),
      repo('as-ref', { git_credential_ref: secrets[2] }),
    ];
    for (const body of bodies) expect((await server.api('POST', '/v1/repos', { body })).status).toBe(201);
    // One left from before repositories had a git credential: moved at the next start.
    expect((await server.api('POST', '/v1/repos', { body: repo('legacy', {}) })).status).toBe(201);
    await sql`update repos set clone_url = ${url.replace('http://', `http://bot:${secrets[3]}@`)} where name = 'legacy'`.execute(server.store.db.kysely);
    await server.close(1000);
    server = await startTestServer({ dialect: 'sqlite', dataDir, logger });

    for (const name of ['in-url', 'as-token', 'as-ref', 'legacy']) {
      const id: string = (await server.api('POST', '/v1/tasks', { body: { repo: name, task: 'Change a file' } })).body.task.id;
      const task = await waitFor(async () => {
        const t = (await server!.api('GET', `/v1/tasks/${id}`)).body.task;
        return ['FAILED', 'COMPLETED'].includes(t.status) ? t : undefined;
      }, 30_000, `task on ${name} to end`);
      expect(task).toMatchObject({ status: 'FAILED', error_code: 'WORKSPACE_FAILED' });
      for (const s of secrets) expect(JSON.stringify(task)).not.toContain(s);
    }
    expect(lines.some((l) => l.includes('task failed'))).toBe(true);
    // Git was asked for each of them (one 401 without it, one with the wrong password).
    expect(gitServer.requests.filter((r) => !r.authorized).length).toBeGreaterThanOrEqual(8);
    for (const line of lines) for (const s of secrets) expect(line).not.toContain(s);
  });
});
