import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createTestDatabase, postgresSkipReason, tempDir } from '../support/databases.js';
import { createBareRemote } from '../support/git-repos.js';
import { spawnServe } from '../support/cli.js';
import { waitFor } from '../support/server.js';

for (const dialect of ['sqlite', 'postgres'] as const) {
  describe.skipIf(dialect === 'postgres' && postgresSkipReason)(`a server killed mid-task on ${dialect}`, () => {
    const cleanups: (() => Promise<void> | void)[] = [];
    afterEach(async () => {
      for (const c of cleanups.splice(0).reverse()) await c();
    });

    it('drives the task to a terminal state with a reason after a restart', async () => {
      const dataDir = tempDir();
      const env: Record<string, string> = { BGAGENT_DATA_DIR: dataDir, BGAGENT_LEASE_SECONDS: '2', BGAGENT_SANDBOX: 'none' };
      if (dialect === 'postgres') {
        const db = await createTestDatabase();
        cleanups.push(() => db.drop());
        env.BGAGENT_DATABASE_URL = db.url;
      }
      const first = await spawnServe(env);
      cleanups.push(() => {
        first.child.kill('SIGKILL');
      });
      const token = readFileSync(join(dataDir, 'admin-token'), 'utf8').trim();
      const call = async (url: string, method: string, path: string, body?: unknown) => {
        const res = await fetch(`${url}${path}`, {
          method,
          headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
          body: body ? JSON.stringify(body) : undefined,
        });
        return res.json() as Promise<any>;
      };
      const remote = createBareRemote();
      await call(first.url, 'POST', '/v1/repos', { name: 'demo', clone_url: remote.url, agent: 'command', agent_settings: { command: 'sleep 60' } });
      const { task } = await call(first.url, 'POST', '/v1/tasks', { repo: 'demo', task: 'Outlive the server' });
      await waitFor(async () => ((await call(first.url, 'GET', `/v1/tasks/${task.id}`)).task.status === 'RUNNING' ? true : undefined), 15_000, 'RUNNING');
      const workspace = join(dataDir, 'workspaces', task.id);
      expect(existsSync(workspace)).toBe(true);

      first.child.kill('SIGKILL');
      await new Promise((r) => first.child.once('exit', r));

      const second = await spawnServe(env);
      cleanups.push(() => {
        second.child.kill('SIGKILL');
      });
      const ended = await waitFor(async () => {
        const t = (await call(second.url, 'GET', `/v1/tasks/${task.id}`)).task;
        return ['FAILED', 'TIMED_OUT', 'COMPLETED', 'CANCELLED'].includes(t.status) ? t : undefined;
      }, 20_000, 'a terminal state after restart');
      expect(ended).toMatchObject({ status: 'FAILED', error_code: 'WORKER_LOST' });
      expect(ended.error_message).toContain('re-submit');
      const events = (await call(second.url, 'GET', `/v1/tasks/${task.id}/events`)).events.map((e: { type: string }) => e.type);
      expect(events.at(-1)).toBe('task_failed');
      // The new server removes the workspace the killed one left: at start-up, or (on PostgreSQL, once the
      // lease runs out) right after recovery records the failure.
      await waitFor(() => (existsSync(workspace) || existsSync(`${workspace}.json`) ? undefined : true), 10_000, 'the workspace to be removed');
      // The orphaned agent process of the killed server does not linger as a child of the new one.
      expect(second.output()).not.toContain('Error');
    });
  });
}
