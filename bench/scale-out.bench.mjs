// Scale-out: tasks completed per minute with 1, 2 and 4 worker processes on PostgreSQL (plus one API
// process), and the queue pickup latency (task persisted -> admission_granted); the same on SQLite (one
// process, role all). Short `command` agents; each worker runs up to BENCH_WORKER_CONCURRENCY agents.
// PostgreSQL: BGAGENT_BENCH_DATABASE_URL or BGAGENT_TEST_DATABASE_URL (an admin URL; a database is created).
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir, cpus } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';

const CLI = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
const TASKS = Number(process.env.BENCH_TASKS ?? 48);
const USERS = 8;
const PER_WORKER = Number(process.env.BENCH_WORKER_CONCURRENCY ?? 2);
const COMMAND = process.env.BENCH_COMMAND ?? 'sleep 0.5; echo "$BGAGENT_TASK_ID" > result.txt';
const adminUrl = process.env.BGAGENT_BENCH_DATABASE_URL ?? process.env.BGAGENT_TEST_DATABASE_URL;

const children = new Set();
process.on('exit', () => children.forEach((c) => c.kill('SIGKILL')));

function serve(env) {
  return new Promise((resolve, reject) => {
    const dataDir = mkdtempSync(join(tmpdir(), 'bgagent-bench-scale-'));
    const child = spawn(process.execPath, [CLI, 'serve', '--port', '0'], {
      env: { PATH: process.env.PATH, BGAGENT_LOG_LEVEL: 'error', BGAGENT_SANDBOX: 'none', BGAGENT_DATA_DIR: dataDir, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.add(child);
    let out = '';
    const onData = (d) => {
      out += d;
      const m = out.match(/serving on (http:\/\/\S+)/);
      if (m) resolve({ child, url: m[1], dataDir });
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code) => reject(new Error(`serve exited ${code}: ${out}`)));
  });
}

async function stop(proc) {
  const exited = new Promise((r) => proc.child.once('exit', r));
  proc.child.kill('SIGTERM');
  await exited;
  children.delete(proc.child);
  rmSync(proc.dataDir, { recursive: true, force: true });
}

function bareRemote() {
  const root = mkdtempSync(join(tmpdir(), 'bgagent-bench-remote-'));
  execFileSync('git', ['init', '-q', '-b', 'main', join(root, 'w')]);
  execFileSync('git', ['-C', join(root, 'w'), '-c', 'user.name=b', '-c', 'user.email=b@b', 'commit', '-q', '--allow-empty', '-m', 'init']);
  execFileSync('git', ['clone', '-q', '--bare', join(root, 'w'), join(root, 'remote.git')]);
  return { root, url: `file://${join(root, 'remote.git')}` };
}

async function run(label, { databaseUrl, workers }) {
  const base = databaseUrl ? { BGAGENT_DATABASE_URL: databaseUrl } : {};
  const common = { ...base, BGAGENT_MAX_CONCURRENT_PER_USER: '8', BGAGENT_WORKER_CONCURRENCY: String(PER_WORKER), BGAGENT_SHUTDOWN_GRACE_SECONDS: '5' };
  const api = await serve({ ...common, BGAGENT_ROLE: databaseUrl ? 'api' : 'all' });
  const workerProcs = databaseUrl ? await Promise.all(Array.from({ length: workers }, () => serve({ ...common, BGAGENT_ROLE: 'worker' }))) : [];
  const admin = readFileSync(join(api.dataDir, 'admin-token'), 'utf8').trim();
  const call = async (token, method, path, body) => {
    const res = await fetch(`${api.url}${path}`, { method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: body && JSON.stringify(body) });
    return res.json();
  };
  const remote = bareRemote();
  await call(admin, 'POST', '/v1/repos', { name: 'bench', clone_url: remote.url, agent: 'command', agent_settings: { command: COMMAND } });
  const tokens = [];
  for (let u = 0; u < USERS; u++) tokens.push((await call(admin, 'POST', '/v1/tokens', { user: `bench${u}` })).token);

  // Idle pickup: one task at a time into idle workers (the burst below measures mostly waiting for a slot).
  const idle = [];
  for (let i = 0; i < 5; i++) {
    const { task } = await call(tokens[0], 'POST', '/v1/tasks', { repo: 'bench', task: `idle ${i}` });
    let granted;
    while (!(granted = (await call(admin, 'GET', `/v1/tasks/${task.id}/events`)).events.find((e) => e.type === 'admission_granted'))) await new Promise((r) => setTimeout(r, 5));
    idle.push(Date.parse(granted.created_at) - Date.parse(task.created_at));
    while (!['COMPLETED', 'FAILED'].includes((await call(admin, 'GET', `/v1/tasks/${task.id}`)).task.status)) await new Promise((r) => setTimeout(r, 20));
  }
  idle.sort((a, b) => a - b);

  const t0 = performance.now();
  const ids = [];
  for (let i = 0; i < TASKS; i++) ids.push((await call(tokens[i % USERS], 'POST', '/v1/tasks', { repo: 'bench', task: `bench ${i}` })).task.id);
  const terminal = new Set(['COMPLETED', 'FAILED', 'CANCELLED', 'TIMED_OUT']);
  for (;;) {
    const tasks = (await call(admin, 'GET', '/v1/tasks?limit=200')).tasks;
    if (tasks.filter((t) => ids.includes(t.id) && terminal.has(t.status)).length === TASKS) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const seconds = (performance.now() - t0) / 1000;
  const pickups = [];
  let completed = 0;
  for (const id of ids) {
    const { task } = await call(admin, 'GET', `/v1/tasks/${id}`);
    if (task.status === 'COMPLETED') completed++;
    const { events } = await call(admin, 'GET', `/v1/tasks/${id}/events`);
    const granted = events.find((e) => e.type === 'admission_granted');
    if (granted) pickups.push(Date.parse(granted.created_at) - Date.parse(task.created_at));
  }
  pickups.sort((a, b) => a - b);
  const pct = (p) => pickups[Math.min(pickups.length - 1, Math.floor((p / 100) * pickups.length))];
  await Promise.all(workerProcs.map(stop));
  await stop(api);
  rmSync(remote.root, { recursive: true, force: true });
  const row = { setup: label, tasks: TASKS, completed, seconds: +seconds.toFixed(1), tasks_per_min: Math.round((completed / seconds) * 60), idle_pickup_median_ms: idle[2], idle_pickup_max_ms: idle[4], burst_pickup_p50_ms: pct(50), burst_pickup_p95_ms: pct(95) };
  console.log(JSON.stringify(row));
  return row;
}

async function createDatabase() {
  const name = `bgagent_bench_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
  const c = new pg.Client({ connectionString: adminUrl });
  await c.connect();
  await c.query(`CREATE DATABASE ${name}`);
  await c.end();
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const d = new pg.Client({ connectionString: adminUrl });
      await d.connect();
      await d.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await d.end();
    },
  };
}

console.log(`# scale-out: ${TASKS} tasks, ${USERS} users, ${PER_WORKER} agents per worker, command: ${COMMAND}; ${cpus().length} cores`);
const rows = [await run('sqlite, 1 process (all)', {})];
if (!adminUrl) console.log('PostgreSQL rows skipped: set BGAGENT_BENCH_DATABASE_URL or BGAGENT_TEST_DATABASE_URL');
else {
  for (const workers of [1, 2, 4]) {
    const db = await createDatabase();
    try {
      rows.push(await run(`postgres, 1 api + ${workers} worker${workers > 1 ? 's' : ''}`, { databaseUrl: db.url, workers }));
    } finally {
      await db.drop();
    }
  }
}
console.table(rows);
process.exit(0);
