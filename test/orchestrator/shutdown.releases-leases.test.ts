import { afterEach, describe, expect, it } from 'vitest';
import { rmSync } from 'node:fs';
import { createTestDatabase, postgresSkipReason, tempDir } from '../support/databases.js';
import { createBareRemote } from '../support/git-repos.js';
import { openStore } from '../../src/store/index.js';
import { startTestServer, waitFor, type TestServer } from '../support/server.js';

for (const dialect of ['sqlite', 'postgres'] as const) {
  describe.skipIf(dialect === 'postgres' && postgresSkipReason)(`graceful shutdown on ${dialect}`, () => {
    const cleanups: (() => Promise<unknown> | void)[] = [];
    afterEach(async () => {
      for (const c of cleanups.splice(0).reverse()) await c();
    });

    it('stops an agent still running after the grace period and releases its lease so the next worker takes over at once', async () => {
      const dataDir = tempDir();
      cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
      let databaseUrl: string | undefined;
      if (dialect === 'postgres') {
        const db = await createTestDatabase();
        cleanups.push(() => db.drop());
        databaseUrl = db.url;
      }
      // A 60 s lease: without the release the second worker could not take the task over within the test.
      const env = { BGAGENT_LEASE_SECONDS: '60' };
      const first: TestServer = await startTestServer({ dialect, dataDir, databaseUrl, env });
      const remote = createBareRemote();
      await first.api('POST', '/v1/repos', { body: { name: 'demo', clone_url: remote.url, agent: 'command', agent_settings: { command: 'sleep 60' } } });
      const { body } = await first.api('POST', '/v1/tasks', { body: { repo: 'demo', task: 'Run past the shutdown' } });
      const id = body.task.id as string;
      await waitFor(async () => ((await first.store.tasks.get(id))!.status === 'RUNNING' ? true : undefined), 15_000, 'RUNNING');

      await first.close(300);
      const second = await startTestServer({ dialect, dataDir, databaseUrl, env });
      cleanups.push(() => second.close(2000));
      const before = (await second.store.tasks.listEvents(id)).map((e) => e.type);
      expect(before).toContain('lease_released');

      const ended = await waitFor(async () => {
        const t = (await second.store.tasks.get(id))!;
        return t.status === 'FAILED' ? t : undefined;
      }, 10_000, 'the task taken over and failed');
      expect(ended.errorCode).toBe('WORKER_LOST');
      const types = (await second.store.tasks.listEvents(id)).map((e) => e.type);
      expect(types.filter((t) => t === 'task_failed')).toHaveLength(1);
      expect(types.indexOf('lease_released')).toBeLessThan(types.indexOf('task_failed'));
    });

    it('lets an agent that ends within the grace period finish its task', async () => {
      const dataDir = tempDir();
      cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
      let databaseUrl: string | undefined;
      if (dialect === 'postgres') {
        const db = await createTestDatabase();
        cleanups.push(() => db.drop());
        databaseUrl = db.url;
      }
      const server = await startTestServer({ dialect, dataDir, databaseUrl });
      const remote = createBareRemote();
      await server.api('POST', '/v1/repos', { body: { name: 'demo', clone_url: remote.url, agent: 'command', agent_settings: { command: 'sleep 1; echo done > done.txt' } } });
      const { body } = await server.api('POST', '/v1/tasks', { body: { repo: 'demo', task: 'Finish in time' } });
      const id = body.task.id as string;
      await waitFor(async () => ((await server.store.tasks.get(id))!.status === 'RUNNING' ? true : undefined), 15_000, 'RUNNING');
      await server.close(15_000);

      const store = await openStore({ dataDir, databaseUrl });
      cleanups.push(() => store.close());
      expect((await store.tasks.get(id))!.status).toBe('COMPLETED');
      expect((await store.tasks.listEvents(id)).map((e) => e.type)).not.toContain('lease_released');
    });
  });
}
