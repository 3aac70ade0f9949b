import { afterEach, describe, expect, it } from 'vitest';
import { postgresSkipReason } from '../support/databases.js';
import { startTestServer, waitFor, type TestServer } from '../support/server.js';

/**
 * A repository's clone URL is an admin's setting (a user sees repositories by name only), yet git names it
 * in every failure. A task that cannot fetch its repository tells its owner which repository, never the URL.
 */
for (const dialect of ['sqlite', 'postgres'] as const) {
  describe.skipIf(dialect === 'postgres' && postgresSkipReason)(`a failed fetch on ${dialect}`, () => {
    let server: TestServer | undefined;
    afterEach(async () => {
      await server?.destroy();
      server = undefined;
    });

    it("shows a user the repository's name, not its clone URL", async () => {
      server = await startTestServer({ dialect });
      const urls = { 'acme/http': 'http://127.0.0.1:9/hidden-http-canary.git', 'acme/file': 'file:///nonexistent/hidden-file-canary.git' };
      for (const [name, clone_url] of Object.entries(urls)) {
        expect((await server.api('POST', '/v1/repos', { body: { name, clone_url, agent: 'command', agent_settings: { command: 'true' } } })).status).toBe(201);
      }
      const created = await server.api('POST', '/v1/tokens', { body: { user: 'bob' } });
      const bob: string = created.body.token;

      for (const name of Object.keys(urls)) {
        const id: string = (await server.api('POST', '/v1/tasks', { token: bob, body: { repo: name, task: 'Change a file' } })).body.task.id;
        const task = await waitFor(async () => {
          const t = (await server!.api('GET', `/v1/tasks/${id}`, { token: bob })).body.task;
          return t.status === 'FAILED' ? t : undefined;
        }, 30_000, `the task on ${name} to fail`);
        const events = (await server.api('GET', `/v1/tasks/${id}/events`, { token: bob })).body;
        expect(task.error_code).toBe('WORKSPACE_FAILED');
        expect(task.error_message).toContain(name);
        expect(JSON.stringify({ task, events })).not.toMatch(/hidden-\w+-canary|127\.0\.0\.1|nonexistent/);
      }
    });
  });
}
