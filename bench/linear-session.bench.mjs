// Linear agent sessions: the time from an `AgentSessionEvent` `created` webhook (an issue delegated to
// bgagent) to bgagent's first `thought` activity, through the real server, one at a time and in a burst; and
// the activities (and Linear calls) each task costs, with a `command` agent that prints 200 lines.
// Linear is a tiny in-bench GraphQL stub that records when each call arrives (no schema validation).
import { createHmac, randomUUID } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { createServer } from 'node:http';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../dist/config/config.js';
import { silentLogger } from '../dist/log.js';
import { startServer } from '../dist/server/serve.js';

const SAMPLES = Number(process.env.BENCH_SESSION_SAMPLES ?? 100);
const BURST = Number(process.env.BENCH_SESSION_BURST ?? 20);
const SECRET = 'whsec_bench_sessions_0123456789';
const ORG = randomUUID();
const VIEWER = randomUUID();
const PROJECT = randomUUID();
const TEAM = randomUUID();
const ACTOR = randomUUID();
const STATES = [
  ['Backlog', 'backlog'],
  ['Todo', 'unstarted'],
  ['In Progress', 'started'],
  ['Done', 'completed'],
].map(([name, type], position) => ({ id: randomUUID(), name, type, position }));

// --- the Linear stub ---------------------------------------------------------------------------
/** sessionId → performance.now() of its first thought; sessionId → activities; sessionId → ended; issueId → calls. */
const firstThoughtAt = new Map();
const activities = new Map();
const ended = new Set();
const callsFor = new Map();
const count = (key) => callsFor.set(key, (callsFor.get(key) ?? 0) + 1);
const stub = createServer((req, res) => {
  const arrived = performance.now();
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const { operationName, variables } = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    let data;
    switch (operationName) {
      case 'AgentActivityCreate': {
        const { agentSessionId, content } = variables.input;
        count(agentSessionId);
        if (content.type === 'thought' && !firstThoughtAt.has(agentSessionId)) firstThoughtAt.set(agentSessionId, arrived);
        activities.set(agentSessionId, (activities.get(agentSessionId) ?? 0) + 1);
        if (content.type === 'response' || content.type === 'error') ended.add(agentSessionId);
        data = { agentActivityCreate: { success: true, agentActivity: { id: randomUUID() } } };
        break;
      }
      case 'SessionIssue':
        count(variables.id);
        data = { issue: { id: variables.id, identifier: 'ENG-1', title: 'Bench', url: 'https://linear.app/x', state: STATES[0], team: { id: TEAM, key: 'ENG', name: 'Eng', states: { nodes: STATES } }, project: { id: PROJECT, name: 'Bench' } } };
        break;
      case 'SessionStarted':
        count(variables.sessionId);
        data = { issueUpdate: { success: true }, agentSessionUpdate: { success: true } };
        break;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(data ? { data } : { errors: [{ message: `stub: ${operationName} not stubbed` }] }));
  });
});
await new Promise((r) => stub.listen(0, '127.0.0.1', r));
const stubUrl = `http://127.0.0.1:${stub.address().port}/graphql`;

// --- bgagent ---------------------------------------------------------------------------------------
process.env.BENCH_LINEAR_SECRET = SECRET;
process.env.BENCH_LINEAR_KEY = 'lin_api_bench_key';
const dataDir = mkdtempSync(join(tmpdir(), 'bgagent-bench-sessions-'));
const work = join(dataDir, 'src');
execFileSync('git', ['init', '-q', '-b', 'main', work]);
execFileSync('git', ['-C', work, '-c', 'user.name=b', '-c', 'user.email=b@b', 'commit', '-q', '--allow-empty', '-m', 'init']);
execFileSync('git', ['clone', '-q', '--bare', work, join(dataDir, 'remote.git')]);
const config = loadConfig({
  PATH: process.env.PATH,
  BGAGENT_DATA_DIR: dataDir,
  BGAGENT_PORT: '0',
  BGAGENT_SANDBOX: 'none',
  BGAGENT_PUBLIC_URL: 'https://bgagent.bench.test',
  BGAGENT_MAX_CONCURRENT_PER_USER: '8',
  BGAGENT_WORKER_CONCURRENCY: '8',
  LINEAR_API_URL: stubUrl,
  LINEAR_API_KEY: 'env:BENCH_LINEAR_KEY',
  LINEAR_WEBHOOK_SECRET: 'env:BENCH_LINEAR_SECRET',
});
const server = await startServer({ config, logger: silentLogger });
const token = readFileSync(server.adminTokenPath, 'utf8').trim();
const repo = await fetch(`${server.url}/v1/repos`, {
  method: 'POST',
  headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
  body: JSON.stringify({ name: 'bench', clone_url: `file://${join(dataDir, 'remote.git')}`, agent: 'command', agent_settings: { command: 'for i in $(seq 1 200); do echo "line $i"; done' } }),
});
if (repo.status !== 201) throw new Error(`repo: ${repo.status}`);
const [user] = await server.store.users.list();
await server.store.linear.upsertWorkspace({ id: ORG, urlKey: 'bench', name: 'Bench', apiKeyRef: 'env:BENCH_LINEAR_KEY', signingSecretRef: null, viewerId: VIEWER });
await server.store.linear.upsertProject({ projectId: PROJECT, workspaceId: ORG, name: 'Bench', repo: 'bench', triggerLabel: 'bgagent' });
await server.store.linear.linkUser({ workspaceId: ORG, linearUserId: ACTOR, linearUserName: 'Ada', linearUserEmail: null, userId: user.id });

/** Sends a signed `created` webhook for a new session; returns its id and when it was sent. */
async function delegate() {
  const sessionId = randomUUID();
  const issueId = randomUUID();
  const body = JSON.stringify({
    type: 'AgentSessionEvent',
    action: 'created',
    organizationId: ORG,
    oauthClientId: 'bench',
    appUserId: VIEWER,
    webhookId: 'wh',
    webhookTimestamp: Date.now(),
    createdAt: new Date().toISOString(),
    agentSession: { id: sessionId, issue: { id: issueId, identifier: 'ENG-1', title: 'Bench', url: 'https://linear.app/x', teamId: TEAM }, creator: { id: ACTOR, name: 'Ada', email: 'ada@x' } },
    promptContext: '<issue identifier="ENG-1"><title>Bench</title></issue>',
  });
  const t0 = performance.now();
  const res = await fetch(`${server.url}/v1/linear/webhook`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'linear-signature': createHmac('sha256', SECRET).update(body).digest('hex'), 'linear-delivery': randomUUID() },
    body,
  });
  await res.arrayBuffer();
  if (res.status !== 200) throw new Error(`webhook answered ${res.status}`);
  return { sessionId, issueId, t0 };
}

const until = async (check, timeoutMs = 120_000) => {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('bench: timed out');
    await new Promise((r) => setTimeout(r, 1));
  }
};
const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))].toFixed(1);
const latencyOf = ({ sessionId, t0 }) => firstThoughtAt.get(sessionId) - t0;

// Warm up (JIT, SQLite pages, git, the Linear client).
for (let i = 0; i < 3; i++) {
  const s = await delegate();
  await until(() => ended.has(s.sessionId));
}

const sequential = [];
for (let i = 0; i < SAMPLES; i++) {
  const s = await delegate();
  await until(() => firstThoughtAt.has(s.sessionId));
  sequential.push(s);
}
const burst = await Promise.all(Array.from({ length: BURST }, () => delegate()));
await until(() => burst.every((s) => firstThoughtAt.has(s.sessionId)));
const all = [...sequential, ...burst];
await until(() => all.every((s) => ended.has(s.sessionId)), 600_000);
await new Promise((r) => setTimeout(r, 500));

const seq = sequential.map(latencyOf).sort((a, b) => a - b);
const bur = burst.map(latencyOf).sort((a, b) => a - b);
const perTask = all.map((s) => activities.get(s.sessionId)).sort((a, b) => a - b);
const calls = all.map((s) => (callsFor.get(s.sessionId) ?? 0) + (callsFor.get(s.issueId) ?? 0)).sort((a, b) => a - b);
const rows = await server.store.db.kysely.selectFrom('tasks').select('linear_calls').execute();
const recorded = rows.map((r) => Number(r.linear_calls)).sort((a, b) => a - b);

console.log(`machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, node ${process.version}; SQLite; command agent printing 200 lines; 8 tasks at once`);
console.log('| created webhook → first thought | sessions | p50 ms | p99 ms | max ms |');
console.log('|---|---|---|---|---|');
console.log(`| one at a time | ${SAMPLES} | ${pct(seq, 50)} | ${pct(seq, 99)} | ${seq.at(-1).toFixed(1)} |`);
console.log(`| ${BURST} at once | ${BURST} | ${pct(bur, 50)} | ${pct(bur, 99)} | ${bur.at(-1).toFixed(1)} |`);
console.log('');
console.log('| per task (200 output lines) | min | p50 | max |');
console.log('|---|---|---|---|');
console.log(`| activities | ${perTask[0]} | ${pct(perTask, 50)} | ${perTask.at(-1)} |`);
console.log(`| Linear calls received by the stub | ${calls[0]} | ${pct(calls, 50)} | ${calls.at(-1)} |`);
console.log(`| tasks.linear_calls | ${recorded[0]} | ${pct(recorded, 50)} | ${recorded.at(-1)} |`);

await server.close(1000);
await new Promise((r) => stub.close(r));
stub.closeAllConnections?.();
rmSync(dataDir, { recursive: true, force: true });
