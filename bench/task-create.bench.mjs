// Task-create throughput and latency over HTTP on the embedded SQLite store, with the worker running.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir, cpus } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { loadConfig } from '../dist/config/config.js';
import { silentLogger } from '../dist/log.js';
import { startServer } from '../dist/server/serve.js';

const TOTAL = Number(process.env.BENCH_TASKS ?? 2000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);

const dataDir = mkdtempSync(join(tmpdir(), 'bgagent-bench-'));
const work = join(dataDir, 'src');
execFileSync('git', ['init', '-q', '-b', 'main', work]);
execFileSync('git', ['-C', work, '-c', 'user.name=b', '-c', 'user.email=b@b', 'commit', '-q', '--allow-empty', '-m', 'init']);
execFileSync('git', ['clone', '-q', '--bare', work, join(dataDir, 'remote.git')]);

const config = loadConfig({ PATH: process.env.PATH, BGAGENT_DATA_DIR: dataDir, BGAGENT_PORT: '0', BGAGENT_SANDBOX: 'none', BGAGENT_MAX_CONCURRENT_PER_USER: '2' });
const server = await startServer({ config, logger: silentLogger });
const token = readFileSync(server.adminTokenPath, 'utf8').trim();
const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
await fetch(`${server.url}/v1/repos`, {
  method: 'POST',
  headers,
  body: JSON.stringify({ name: 'bench', clone_url: `file://${join(dataDir, 'remote.git')}`, agent: 'command', agent_settings: { command: 'true' } }),
});

const latencies = [];
let next = 0;
const started = performance.now();
await Promise.all(
  Array.from({ length: CONCURRENCY }, async () => {
    while (next < TOTAL) {
      const i = next++;
      const t0 = performance.now();
      const res = await fetch(`${server.url}/v1/tasks`, { method: 'POST', headers, body: JSON.stringify({ repo: 'bench', task: `Bench task ${i}` }) });
      await res.arrayBuffer();
      if (res.status !== 201) throw new Error(`create failed: ${res.status}`);
      latencies.push(performance.now() - t0);
    }
  }),
);
const seconds = (performance.now() - started) / 1000;
latencies.sort((a, b) => a - b);
const pct = (p) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))].toFixed(1);
console.log(`machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, node ${process.version}`);
console.log('| store | tasks | concurrency | creates/s | p50 ms | p99 ms |');
console.log('|---|---|---|---|---|---|');
console.log(`| SQLite | ${TOTAL} | ${CONCURRENCY} | ${(TOTAL / seconds).toFixed(0)} | ${pct(50)} | ${pct(99)} |`);
await server.close(1000);
rmSync(dataDir, { recursive: true, force: true });
