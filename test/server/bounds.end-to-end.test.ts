import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openStore } from '../../src/store/index.js';
import { newTaskRow } from '../../src/tasks/create-task.js';
import { createTestDatabase, postgresSkipReason, tempDir } from '../support/databases.js';
import { createBareRemote } from '../support/git-repos.js';
import { startTestServer, waitFor, type TestServer } from '../support/server.js';

const TERMINAL = ['COMPLETED', 'FAILED', 'CANCELLED', 'TIMED_OUT'];
const DAY = 24 * 60 * 60 * 1000;

for (const dialect of ['sqlite', 'postgres'] as const) {
  describe.skipIf(dialect === 'postgres' && postgresSkipReason)(`per-user and per-task bounds through the server on ${dialect}`, () => {
    let server: TestServer | undefined;
    let dropDatabase: (() => Promise<void>) | undefined;
    afterEach(async () => {
      await server?.destroy();
      await dropDatabase?.();
      server = undefined;
      dropDatabase = undefined;
    });

    async function onboard(s: TestServer, name: string, command: string) {
      const res = await s.api('POST', '/v1/repos', { body: { name, clone_url: createBareRemote().url, agent: 'command', agent_settings: { command } } });
      expect(res.status).toBe(201);
    }

    const statusOf = async (s: TestServer, id: string, token?: string): Promise<string> => (await s.api('GET', `/v1/tasks/${id}`, { token })).body.task.status;

    it('answers 429 TOO_MANY_QUEUED_TASKS once the user has BGAGENT_MAX_QUEUED_PER_USER tasks waiting, and creates nothing', async () => {
      server = await startTestServer({ dialect, env: { BGAGENT_MAX_QUEUED_PER_USER: '2' } });
      const gate = join(tempDir(), 'release');
      await onboard(server, 'slow', `while [ ! -e ${gate} ]; do sleep 0.05; done`);
      const token = (await server.api('POST', '/v1/tokens', { body: { user: 'carol', max_concurrent: 1 } })).body.token as string;
      const submit = () => server!.api('POST', '/v1/tasks', { token, body: { repo: 'slow', task: 'Wait' } });
      try {
        const running = (await submit()).body.task.id as string;
        // The running task holds carol's one slot; it does not count as waiting.
        await waitFor(async () => ((await statusOf(server!, running, token)) === 'RUNNING' ? true : undefined), 15_000, 'the first task to run');
        expect((await submit()).status).toBe(201);
        expect((await submit()).status).toBe(201);

        const refused = await submit();
        expect(refused.status).toBe(429);
        expect(refused.body.error).toMatchObject({ code: 'TOO_MANY_QUEUED_TASKS' });
        expect(refused.body.error.message).toContain('at most 2 per user');
        expect((await server.api('GET', '/v1/tasks?limit=10', { token })).body.tasks).toHaveLength(3);
        // Another user is not held back by carol's queue.
        expect((await server.api('POST', '/v1/tasks', { body: { repo: 'slow', task: 'Mine' } })).status).toBe(201);
      } finally {
        writeFileSync(gate, '');
      }
    });

    it('stores at most BGAGENT_MAX_OUTPUT_EVENTS_PER_TASK agent events, says how many were left out, and keeps every lifecycle event', async () => {
      server = await startTestServer({ dialect, env: { BGAGENT_MAX_OUTPUT_EVENTS_PER_TASK: '5' } });
      await onboard(server, 'chatty', 'seq 1 20 | sed "s/^/line /"');
      const id = (await server.api('POST', '/v1/tasks', { body: { repo: 'chatty', task: 'Talk a lot' } })).body.task.id as string;
      const status = await waitFor(async () => {
        const s = await statusOf(server!, id);
        return TERMINAL.includes(s) ? s : undefined;
      }, 20_000, 'the task to end');
      expect(status).toBe('COMPLETED');

      const events: Array<{ type: string; message: string; data: Record<string, unknown> | null }> = (await server.api('GET', `/v1/tasks/${id}/events`)).body.events;
      expect(events.filter((e) => e.type === 'agent_output').map((e) => e.message)).toEqual(['line 1', 'line 2', 'line 3', 'line 4', 'line 5']);
      const capped = events.filter((e) => e.type === 'agent_output_capped');
      expect(capped).toHaveLength(1);
      expect(capped[0]).toMatchObject({ data: { dropped: 15, cap: 5 } });
      expect(capped[0]!.message).toContain('15 more agent events were not recorded');
      const types = events.map((e) => e.type);
      const lifecycle = ['task_created', 'admission_granted', 'hydration_started', 'workspace_ready', 'session_started', 'agent_output_capped', 'agent_finished', 'task_completed'];
      expect(types.filter((t) => lifecycle.includes(t))).toEqual(lifecycle);
    });

    it('deletes the data of tasks ended before BGAGENT_RETENTION_DAYS when it starts, and counts it in a metric', async () => {
      const dataDir = tempDir();
      const database = dialect === 'postgres' ? await createTestDatabase() : undefined;
      dropDatabase = database?.drop;
      const longAgo = Date.now() - 3 * DAY;
      const before = await openStore({ dataDir, databaseUrl: database?.url, now: () => longAgo });
      await before.repos.upsert({ name: 'demo', cloneUrl: 'file:///nowhere', defaultBranch: 'main', agent: 'command', agentSettings: {} });
      const user = await before.users.ensure('ada');
      const row = newTaskRow({ id: '01OLDTASK0000000000000000A', userId: user.id, repo: 'demo', taskDescription: 'Old', issueRef: null, branchName: 'b', maxTurns: null, maxBudgetUsd: null, idempotencyKey: null, channelSource: 'api', channelMetadata: {}, now: longAgo });
      await before.tasks.insert({ ...row, status: 'COMPLETED', finished_at: longAgo }, { type: 'task_created', message: 'old' });
      await before.tasks.appendEvent('01OLDTASK0000000000000000A', { type: 'agent_output', message: 'old output' });
      await before.close();

      server = await startTestServer({ dialect, dataDir, databaseUrl: database?.url, env: { BGAGENT_RETENTION_DAYS: '1' } });
      await waitFor(async () => ((await server!.store.tasks.listEvents('01OLDTASK0000000000000000A')).length === 0 ? true : undefined), 10_000, 'retention to run');
      expect(await server.store.tasks.get('01OLDTASK0000000000000000A')).toMatchObject({ status: 'COMPLETED' });
      const metrics = (await server.api('GET', '/metrics', { token: null })).body as string;
      expect(metrics).toContain('bgagent_retention_deleted_rows_total{table="task_events"} 2');
    });
  });
}
