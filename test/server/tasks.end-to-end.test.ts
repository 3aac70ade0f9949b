import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { postgresSkipReason, tempDir } from '../support/databases.js';
import { branchesOf, createBareRemote, git } from '../support/git-repos.js';
import { startTestServer, waitFor, type TestServer } from '../support/server.js';

const TERMINAL = ['COMPLETED', 'FAILED', 'CANCELLED', 'TIMED_OUT'];

for (const dialect of ['sqlite', 'postgres'] as const) {
  describe.skipIf(dialect === 'postgres' && postgresSkipReason)(`a local task end to end on ${dialect}`, () => {
    let server: TestServer | undefined;
    afterEach(async () => {
      await server?.destroy();
      server = undefined;
    });

    async function onboard(s: TestServer, name: string, command: string) {
      const remote = createBareRemote();
      const res = await s.api('POST', '/v1/repos', { body: { name, clone_url: remote.url, agent: 'command', agent_settings: { command } } });
      expect(res.status).toBe(201);
      return remote;
    }

    async function terminal(s: TestServer, id: string, token?: string) {
      return waitFor(async () => {
        const { body } = await s.api('GET', `/v1/tasks/${id}`, { token });
        return TERMINAL.includes(body.task.status) ? body.task : undefined;
      }, 20_000, `task ${id} to end`);
    }

    it('runs the agent, pushes its commit on a new branch and records events in order', async () => {
      server = await startTestServer({ dialect });
      const remote = await onboard(server, 'demo', 'echo "agent saw: $BGAGENT_TASK"; printf "%s\\n" "$BGAGENT_TASK" > TASK.md');
      const created = await server.api('POST', '/v1/tasks', { body: { repo: 'demo', task: 'Write the task down' } });
      expect(created.status).toBe(201);
      const task = await terminal(server, created.body.task.id);
      expect(task).toMatchObject({ status: 'COMPLETED', outcome: 'changes_pushed', error_code: null });

      expect(branchesOf(remote.path)).toContain(task.branch_name);
      expect(git(remote.path, 'show', `${task.branch_name}:TASK.md`)).toBe('Write the task down');
      expect(git(remote.path, 'log', '-1', '--format=%s', task.branch_name)).toBe('Write the task down');

      const { body } = await server.api('GET', `/v1/tasks/${task.id}/events`);
      const types: string[] = body.events.map((e: { type: string }) => e.type);
      const order = ['task_created', 'admission_granted', 'hydration_started', 'workspace_ready', 'session_started', 'agent_output', 'agent_finished', 'commit_created', 'branch_pushed', 'task_completed'];
      expect(types.filter((t) => order.includes(t)).filter((t, i, a) => a.indexOf(t) === i)).toEqual(order);
      expect(body.events.find((e: { type: string }) => e.type === 'agent_output').message).toBe('agent saw: Write the task down');
      const ids = body.events.map((e: { id: number }) => e.id);
      expect([...ids].sort((a, b) => a - b)).toEqual(ids);
      // The workspace is removed after the push.
      await waitFor(() => (existsSync(join(server!.dataDir, 'workspaces', task.id)) ? undefined : true), 10_000, 'workspace removal');
    });

    it('completes with no changes when the agent changes nothing, and fails with the exit code otherwise', async () => {
      server = await startTestServer({ dialect });
      const remote = await onboard(server, 'idle', 'true');
      await onboard(server, 'broken', 'echo boom >&2; exit 3');
      const idle = await server.api('POST', '/v1/tasks', { body: { repo: 'idle', task: 'Nothing to do' } });
      const broken = await server.api('POST', '/v1/tasks', { body: { repo: 'broken', task: 'Fail please' } });
      expect(await terminal(server, idle.body.task.id)).toMatchObject({ status: 'COMPLETED', outcome: 'no_changes' });
      const failed = await terminal(server, broken.body.task.id);
      expect(failed).toMatchObject({ status: 'FAILED', error_code: 'AGENT_FAILED' });
      expect(failed.error_message).toContain('3');
      expect(branchesOf(remote.path)).toEqual(['main']);
    });

    it('queues the fourth task of a user with cap 3, then completes all four', async () => {
      server = await startTestServer({ dialect });
      const gate = join(tempDir(), 'release');
      await onboard(server, 'slow', `while [ ! -e ${gate} ]; do sleep 0.05; done; echo "$BGAGENT_TASK_ID" > out.txt`);
      const user = await server.api('POST', '/v1/tokens', { body: { user: 'carol', max_concurrent: 3 } });
      const token = user.body.token as string;
      const ids: string[] = [];
      for (let i = 0; i < 4; i++) {
        const res = await server.api('POST', '/v1/tasks', { token, body: { repo: 'slow', task: `Task ${i}` } });
        ids.push(res.body.task.id);
      }
      const statuses = await waitFor(async () => {
        const { body } = await server!.api('GET', '/v1/tasks?limit=10', { token });
        const byId = new Map(body.tasks.map((t: { id: string; status: string }) => [t.id, t.status]));
        const s = ids.map((id) => byId.get(id));
        return s.filter((x) => x === 'RUNNING').length === 3 ? s : undefined;
      }, 15_000, 'three running tasks');
      expect(statuses).toEqual(['RUNNING', 'RUNNING', 'RUNNING', 'QUEUED']);
      const queuedEvents = (await server.api('GET', `/v1/tasks/${ids[3]}/events`, { token })).body.events.filter((e: { type: string }) => e.type === 'admission_queued');
      expect(queuedEvents).toHaveLength(1);
      writeFileSync(gate, '');
      for (const id of ids) expect((await terminal(server, id, token)).status).toBe('COMPLETED');
    });

    it('cancels a running task and stops its agent', async () => {
      server = await startTestServer({ dialect });
      const marker = join(tempDir(), 'still-running');
      await onboard(server, 'forever', `sleep 30; touch ${marker}`);
      const created = await server.api('POST', '/v1/tasks', { body: { repo: 'forever', task: 'Never ends' } });
      const id = created.body.task.id;
      await waitFor(async () => ((await server!.api('GET', `/v1/tasks/${id}`)).body.task.status === 'RUNNING' ? true : undefined), 15_000, 'RUNNING');
      const cancelled = await server.api('DELETE', `/v1/tasks/${id}`);
      expect(cancelled.status).toBe(200);
      expect(cancelled.body.task).toMatchObject({ status: 'CANCELLED', cancelled_by: 'admin' });
      const again = await server.api('DELETE', `/v1/tasks/${id}`);
      expect(again.status).toBe(409);
      expect(again.body.error.code).toBe('TASK_ALREADY_TERMINAL');
      // The runner lets go of the task: its worktree is removed, and the agent never finished.
      await waitFor(() => (existsSync(join(server!.dataDir, 'workspaces', id)) ? undefined : true), 10_000, 'worktree removal');
      expect(existsSync(marker)).toBe(false);
    });

    it('streams events live over server-sent events until the task ends', async () => {
      server = await startTestServer({ dialect });
      await onboard(server, 'chatty', 'for i in 1 2 3; do echo "step $i"; sleep 0.1; done; echo done > done.txt');
      const created = await server.api('POST', '/v1/tasks', { body: { repo: 'chatty', task: 'Talk' } });
      const res = await fetch(`${server.url}/v1/tasks/${created.body.task.id}/events`, {
        headers: { authorization: `Bearer ${server.adminToken}`, accept: 'text/event-stream' },
      });
      expect(res.headers.get('content-type')).toContain('text/event-stream');
      const text = await res.text();
      const steps = [...text.matchAll(/"message":"(step \d)"/g)].map((m) => m[1]);
      expect(steps).toEqual(['step 1', 'step 2', 'step 3']);
      expect(text).toContain('event: end');
      expect(text).toContain('"status":"COMPLETED"');
    });
  });
}
