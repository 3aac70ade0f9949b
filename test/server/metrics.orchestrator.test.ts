import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { tempDir } from '../support/databases.js';
import { createBareRemote } from '../support/git-repos.js';
import { startTestServer, waitFor, type TestServer } from '../support/server.js';

function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

/** The metrics `bgagent serve` records while its worker admits, queues and runs real (command) agents. */
describe('metrics from the running worker', () => {
  let server: TestServer | undefined;
  afterEach(async () => {
    await server?.destroy();
    server = undefined;
  });

  it('records admissions, queueing, queue wait, leases and finished tasks', async () => {
    server = await startTestServer({ dialect: 'sqlite' });
    const s = server;
    const gate = join(tempDir(), 'release');
    const remote = createBareRemote();
    const repo = await s.api('POST', '/v1/repos', { body: { name: 'gated', clone_url: remote.url, agent: 'command', agent_settings: { command: `while [ ! -e ${gate} ]; do sleep 0.05; done` } } });
    expect(repo.status).toBe(201);
    const user = await s.api('POST', '/v1/tokens', { body: { user: 'erin', max_concurrent: 1 } });
    const token = user.body.token as string;
    const ids: string[] = [];
    for (const task of ['first', 'second']) ids.push((await s.api('POST', '/v1/tasks', { token, body: { repo: 'gated', task } })).body.task.id);
    const scrape = async () => (await fetch(`${s.url}/metrics`)).text();

    const during = await waitFor(async () => {
      const text = await scrape();
      return sample(text, 'bgagent_tasks{status="RUNNING"}') === 1 && sample(text, 'bgagent_tasks{status="QUEUED"}') === 1 ? text : undefined;
    }, 15_000, 'one running and one queued task');
    expect(sample(during, 'bgagent_worker_leases')).toBe(1);
    expect(sample(during, 'bgagent_queue_depth')).toBe(1);
    expect(sample(during, 'bgagent_admissions_total{result="queued"}')).toBe(1);

    writeFileSync(gate, '');
    const after = await waitFor(async () => {
      const text = await scrape();
      return sample(text, 'bgagent_tasks_finished_total{status="COMPLETED"}') === 2 ? text : undefined;
    }, 20_000, 'both tasks finished');
    expect(sample(after, 'bgagent_tasks{status="COMPLETED"}')).toBe(2);
    expect(sample(after, 'bgagent_admissions_total{result="admitted"}')).toBe(2);
    expect(sample(after, 'bgagent_queue_wait_seconds_count')).toBe(2);
    expect(sample(after, 'bgagent_queue_depth')).toBe(0);
    expect(sample(after, 'bgagent_worker_leases')).toBe(0);
    const ready = await fetch(`${s.url}/readyz`);
    expect(await ready.json()).toMatchObject({ status: 'ready', workers: 'running' });
  });

  it('stops being ready when the worker shuts down', async () => {
    server = await startTestServer({ dialect: 'sqlite' });
    const url = server.url;
    expect((await fetch(`${url}/readyz`)).status).toBe(200);
    const stopping = server.orchestrator.stop(1000);
    const res = await server.app.inject({ method: 'GET', url: '/readyz' });
    await stopping;
    expect(res.statusCode).toBe(503);
    expect(res.json()).toMatchObject({ reason: 'workers are not running (starting or shutting down)' });
  });
});
