import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log.js';
import { Metrics } from '../../src/metrics/metrics.js';
import { TaskSignals } from '../../src/tasks/signals.js';
import { buildApp } from '../../src/server/app.js';
import { metricsAccessFrom, type MetricsAccess } from '../../src/server/metrics.js';
import type { Task } from '../../src/tasks/task.js';
import { WorkspaceManager } from '../../src/workspace/index.js';
import { storeTargets, type TestStore } from '../support/databases.js';
import { createBareRemote } from '../support/git-repos.js';

/** The value of one sample line, e.g. sample(text, 'bgagent_tasks{status="QUEUED"}'). */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

for (const target of storeTargets) {
  describe.skipIf(target.skipReason)(`/metrics on ${target.name}`, () => {
    const opened: Array<{ app: FastifyInstance; store: TestStore }> = [];
    afterEach(async () => {
      for (const { app, store } of opened.splice(0)) {
        await app.close();
        await store.destroy();
      }
    });

    async function serve(opts: { access?: MetricsAccess; leases?: () => number; workspaces?: boolean } = {}) {
      const store = await target.open();
      const workspaces = new WorkspaceManager({ dataDir: store.dataDir });
      const diskUsage = opts.workspaces ? () => workspaces.diskUsage() : undefined;
      const metrics = new Metrics({ store, workerLeases: opts.leases, diskUsage, processMetrics: false });
      const app = await buildApp({ store, signals: new TaskSignals(), logger: silentLogger, metrics, metricsAccess: opts.access });
      await app.listen({ host: '127.0.0.1', port: 0 });
      opened.push({ app, store });
      const admin = await store.users.ensure('admin', { isAdmin: true });
      const { token } = await store.users.createToken(admin.id, 'test');
      const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
      const call = (method: string, path: string, body?: unknown) =>
        fetch(`${url}${path}`, {
          method,
          headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
          body: body ? JSON.stringify(body) : undefined,
        });
      const scrape = async () => {
        const res = await fetch(`${url}/metrics`);
        expect(res.status).toBe(200);
        expect(res.headers.get('content-type')).toContain('text/plain');
        return res.text();
      };
      return { store, metrics, workspaces, url, call, scrape };
    }

    it('counts tasks by status and the queue from the database at scrape time', async () => {
      const s = await serve({ leases: () => 2 });
      const repo = await s.call('POST', '/v1/repos', { name: 'demo', clone_url: 'file:///nowhere.git', agent: 'command', agent_settings: { command: 'true' } });
      expect(repo.status).toBe(201);
      for (const task of ['one', 'two']) expect((await s.call('POST', '/v1/tasks', { repo: 'demo', task })).status).toBe(201);
      let text = await s.scrape();
      expect(sample(text, 'bgagent_tasks{status="SUBMITTED"}')).toBe(2);
      expect(sample(text, 'bgagent_tasks{status="COMPLETED"}')).toBe(0);
      expect(sample(text, 'bgagent_queue_depth')).toBe(2);
      expect(sample(text, 'bgagent_worker_leases')).toBe(2);

      const [first] = await s.store.tasks.listByStatus(['SUBMITTED']);
      expect((await s.call('DELETE', `/v1/tasks/${first!.id}`)).status).toBe(200);
      text = await s.scrape();
      expect(sample(text, 'bgagent_tasks{status="SUBMITTED"}')).toBe(1);
      expect(sample(text, 'bgagent_tasks{status="CANCELLED"}')).toBe(1);
      expect(sample(text, 'bgagent_queue_depth')).toBe(1);
    });

    it('counts refused submissions by error code', async () => {
      const s = await serve();
      expect((await s.call('POST', '/v1/tasks', { repo: 'unknown', task: 'x' })).status).toBe(422);
      expect((await s.call('POST', '/v1/tasks', { repo: 'unknown', task: 'y' })).status).toBe(422);
      expect((await s.call('POST', '/v1/tasks', { nope: true })).status).toBe(400);
      expect((await s.call('GET', '/v1/tasks/01ARZ3NDEKTSV4RRFFQ69G5FAV')).status).toBe(404);
      const text = await s.scrape();
      expect(sample(text, 'bgagent_task_rejections_total{code="REPO_NOT_ONBOARDED"}')).toBe(2);
      expect(sample(text, 'bgagent_task_rejections_total{code="VALIDATION_ERROR"}')).toBe(1);
      expect(text).not.toContain('TASK_NOT_FOUND');
    });

    it('exposes what the orchestrator, webhooks and the Linear client record', async () => {
      const s = await serve();
      const now = Date.now();
      const task = (over: Partial<Task>) => ({ createdAt: now - 3000, status: 'HYDRATING', costUsd: null, turns: null, ...over }) as Task;
      s.metrics.admissionDecided([task({}), task({ createdAt: now - 1000 })], [task({ status: 'QUEUED' })], now);
      s.metrics.taskFinished(task({ status: 'COMPLETED', costUsd: 0.42, turns: 7 }));
      s.metrics.taskFinished(task({ status: 'CANCELLED' }));
      s.metrics.recordWebhookAck('linear', 0.004);
      s.metrics.recordLinearCall('IssueUpdate', 'ok');
      s.metrics.recordLinearCall('IssueUpdate', 'ok');
      s.metrics.recordLinearCall('CommentCreate', 'auth_failed');
      s.metrics.setLinearCircuitState(true);

      const text = await s.scrape();
      expect(sample(text, 'bgagent_queue_wait_seconds_count')).toBe(2);
      expect(sample(text, 'bgagent_queue_wait_seconds_sum')).toBe(4);
      expect(sample(text, 'bgagent_queue_wait_seconds_bucket{le="1"}')).toBe(1);
      expect(sample(text, 'bgagent_admissions_total{result="admitted"}')).toBe(2);
      expect(sample(text, 'bgagent_admissions_total{result="queued"}')).toBe(1);
      expect(sample(text, 'bgagent_tasks_finished_total{status="COMPLETED"}')).toBe(1);
      expect(sample(text, 'bgagent_tasks_finished_total{status="CANCELLED"}')).toBe(1);
      expect(sample(text, 'bgagent_agent_cost_usd_sum{status="COMPLETED"}')).toBe(0.42);
      expect(sample(text, 'bgagent_agent_turns_bucket{le="10",status="COMPLETED"}')).toBe(1);
      expect(sample(text, 'bgagent_agent_cost_usd_count{status="CANCELLED"}')).toBeUndefined();
      expect(sample(text, 'bgagent_webhook_ack_seconds_bucket{le="0.005",source="linear"}')).toBe(1);
      expect(sample(text, 'bgagent_linear_calls_total{operation="IssueUpdate",outcome="ok"}')).toBe(2);
      expect(sample(text, 'bgagent_linear_calls_total{operation="CommentCreate",outcome="auth_failed"}')).toBe(1);
      expect(sample(text, 'bgagent_linear_circuit_open')).toBe(1);
      s.metrics.setLinearCircuitState(false);
      expect(sample(await s.scrape(), 'bgagent_linear_circuit_open')).toBe(0);
    });

    it('reports the disk used by the workspaces and the mirrors where agents run, and nothing elsewhere', async () => {
      const s = await serve({ workspaces: true });
      const remote = createBareRemote({ 'README.md': 'x'.repeat(100_000) });
      await s.workspaces.prepare({ taskId: '01TASKWITHWORKSPACE', repo: { name: 'demo', cloneUrl: remote.url, defaultBranch: 'main' }, branch: 'bgagent/demo' });
      const text = await s.scrape();
      expect(sample(text, 'bgagent_workspaces_disk_bytes')).toBeGreaterThanOrEqual(100_000);
      expect(sample(text, 'bgagent_mirrors_disk_bytes')).toBeGreaterThan(0);
      expect(await (await serve()).scrape()).not.toContain('disk_bytes');
    });

    it('keeps one registry per app, so two apps in one process do not share counts', async () => {
      const a = await serve();
      const b = await serve();
      a.metrics.recordLinearCall('Viewer', 'ok');
      expect(sample(await a.scrape(), 'bgagent_linear_calls_total{operation="Viewer",outcome="ok"}')).toBe(1);
      expect(sample(await b.scrape(), 'bgagent_linear_calls_total{operation="Viewer",outcome="ok"}')).toBeUndefined();
    });

    it('can be turned off or protected by BGAGENT_METRICS_TOKEN', async () => {
      const resolved: string[] = [];
      const access = metricsAccessFrom('env:SCRAPE_TOKEN', async (ref) => {
        resolved.push(ref);
        return 'scrape-secret';
      });
      const locked = await serve({ access });
      const denied = await fetch(`${locked.url}/metrics`);
      expect(denied.status).toBe(401);
      expect(((await denied.json()) as { error: { code: string } }).error.code).toBe('UNAUTHORIZED');
      expect((await fetch(`${locked.url}/metrics`, { headers: { authorization: 'Bearer wrong' } })).status).toBe(401);
      const ok = await fetch(`${locked.url}/metrics`, { headers: { authorization: 'Bearer scrape-secret' } });
      expect(ok.status).toBe(200);
      expect(await ok.text()).toContain('bgagent_tasks{status="RUNNING"} 0');
      expect(resolved).toContain('env:SCRAPE_TOKEN');

      const off = await serve({ access: metricsAccessFrom('off', async () => 'unused') });
      expect((await fetch(`${off.url}/metrics`)).status).toBe(404);
      expect(metricsAccessFrom(undefined, async () => 'unused')).toBe('public');
    });
  });
}

describe('process metrics', () => {
  it('includes the Node process metrics unless asked not to', async () => {
    const store = await storeTargets[0]!.open();
    try {
      expect(await new Metrics({ store }).render()).toContain('process_cpu_user_seconds_total');
      expect(await new Metrics({ store, processMetrics: false }).render()).not.toContain('process_cpu_user_seconds_total');
    } finally {
      await store.destroy();
    }
  });
});
