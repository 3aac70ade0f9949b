import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log.js';
import { sweepWorkspaces } from '../../src/orchestrator/workspace-sweep.js';
import { createTask } from '../../src/tasks/create-task.js';
import type { TaskStatus } from '../../src/tasks/states.js';
import { WorkspaceManager } from '../../src/workspace/index.js';
import { postgresSkipReason, storeTargets, type TestStore } from '../support/databases.js';
import { createBareRemote } from '../support/git-repos.js';
import { startTestServer, waitFor, type TestServer } from '../support/server.js';

const TERMINAL = ['COMPLETED', 'FAILED', 'CANCELLED', 'TIMED_OUT'];

for (const dialect of ['sqlite', 'postgres'] as const) {
  describe.skipIf(dialect === 'postgres' && postgresSkipReason)(`a task's workspace when the task ends on ${dialect}`, () => {
    let server: TestServer | undefined;
    afterEach(async () => {
      await server?.destroy();
      server = undefined;
    });

    async function run(command: string) {
      const s = (server = await startTestServer({ dialect }));
      const remote = createBareRemote();
      expect((await s.api('POST', '/v1/repos', { body: { name: 'demo', clone_url: remote.url, agent: 'command', agent_settings: { command } } })).status).toBe(201);
      const id: string = (await s.api('POST', '/v1/tasks', { body: { repo: 'demo', task: 'Do the thing' } })).body.task.id;
      const workspace = join(s.dataDir, 'workspaces', id);
      const status = (wanted: string[]) =>
        waitFor(async () => {
          const t = (await s.store.tasks.get(id))!;
          return wanted.includes(t.status) ? t.status : undefined;
        }, 20_000, wanted.join(' or '));
      const gone = () => waitFor(() => (existsSync(workspace) || existsSync(`${workspace}.json`) ? undefined : true), 5000, 'the workspace to be removed');
      return { s, id, workspace, status, gone };
    }

    it('removes the workspace of a task whose agent failed', async () => {
      const t = await run('echo half > half.txt; exit 3');
      expect(await t.status(TERMINAL)).toBe('FAILED');
      await t.gone();
    });

    it('removes the workspace of a task cancelled while its agent runs', async () => {
      const t = await run('sleep 60');
      await t.status(['RUNNING']);
      expect(existsSync(t.workspace)).toBe(true);
      expect((await t.s.api('DELETE', `/v1/tasks/${t.id}`)).status).toBe(200);
      expect(await t.status(TERMINAL)).toBe('CANCELLED');
      await t.gone();
    });

    it('removes the workspace of a completed task', async () => {
      const t = await run('echo done > done.txt');
      expect(await t.status(TERMINAL)).toBe('COMPLETED');
      await t.gone();
    });
  });
}

for (const target of storeTargets) {
  describe.skipIf(target.skipReason)(`the start-up workspace sweep on ${target.name}`, () => {
    let store: TestStore | undefined;
    afterEach(async () => {
      await store?.destroy();
      store = undefined;
    });

    it("removes what a crash left of ended and unknown tasks, and keeps running and waiting tasks' workspaces", async () => {
      const s = (store = await target.open());
      const remote = createBareRemote();
      await s.repos.upsert({ name: 'demo', cloneUrl: remote.url, defaultBranch: 'main', agent: 'command', agentSettings: {} });
      const user = await s.users.ensure('ada');
      const workspaces = new WorkspaceManager({ dataDir: s.dataDir });
      const taskIn = async (status: TaskStatus) => {
        const { task } = await createTask({ store: s, onCreated: () => {} }, user, { repo: 'demo', task: `A task left ${status}` });
        await s.db.kysely.updateTable('tasks').set({ status }).where('id', '=', task.id).execute();
        await workspaces.prepare({ taskId: task.id, repo: { name: 'demo', cloneUrl: remote.url, defaultBranch: 'main' }, branch: task.branchName });
        return task.id;
      };
      const failed = await taskIn('FAILED');
      await taskIn('COMPLETED');
      const running = await taskIn('RUNNING');
      const waiting = await taskIn('AWAITING_INPUT');
      const dir = join(s.dataDir, 'workspaces');
      // A clone half-built when the process died, for an ended and for a running task; a task this store never had.
      mkdirSync(join(dir, `.${failed}.tmp-0a1b2c3d`, '.git'), { recursive: true });
      mkdirSync(join(dir, `.${running}.tmp-4e5f6a7b`, '.git'), { recursive: true });
      mkdirSync(join(dir, '01UNKNOWNTASK', '.git'), { recursive: true });

      await sweepWorkspaces(s, workspaces, silentLogger);

      expect(readdirSync(dir).sort()).toEqual([`.${running}.tmp-4e5f6a7b`, running, `${running}.json`, waiting, `${waiting}.json`].sort());
    });
  });
}
