// Linear lifecycle: the time from a labelled-issue webhook to bgagent's 👀 on the issue, through the real
// server with a `command` agent, and the Linear API calls each task makes from start to summary.
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

const SAMPLES = Number(process.env.BENCH_LIFECYCLE_TASKS ?? 100);
const SECRET = 'whsec_bench_lifecycle_0123456789';
const ORG = randomUUID();
const VIEWER = randomUUID();
const PROJECT = randomUUID();
const ACTOR = randomUUID();
const STATES = [
  ['Backlog', 'backlog'],
  ['Todo', 'unstarted'],
  ['In Progress', 'started'],
  ['In Review', 'started'],
  ['Done', 'completed'],
].map(([name, type], position) => ({ id: randomUUID(), name, type, position }));

// --- the Linear stub ---------------------------------------------------------------------------
/** issueId → performance.now() when the 👀 arrived; issueId → calls seen; issueId → state. */
const eyesAt = new Map();
const callsFor = new Map();
const issueState = new Map();
const finished = new Set();
const stub = createServer((req, res) => {
  const arrived = performance.now();
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const { operationName, variables } = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    const issueId = variables.issueId ?? variables.id;
    if (issueId) callsFor.set(issueId, (callsFor.get(issueId) ?? 0) + 1);
    let data;
    switch (operationName) {
      case 'ReactionCreate':
        if (variables.emoji === 'eyes' && !eyesAt.has(issueId)) eyesAt.set(issueId, arrived);
        data = { reactionCreate: { success: true, reaction: { id: randomUUID(), emoji: variables.emoji } } };
        break;
      case 'IssueLifecycle':
        data = { issue: { id: issueId, state: issueState.get(issueId) ?? STATES[0], team: { states: { nodes: STATES } }, reactions: [] } };
        break;
      case 'TaskStarted':
      case 'TaskFinished':
        if (variables.move) issueState.set(issueId, STATES.find((s) => s.id === variables.stateId));
        if (operationName === 'TaskFinished') finished.add(issueId);
        data = { commentCreate: { success: true } };
        break;
      case 'CommentCreate':
        data = { commentCreate: { success: true, comment: { id: randomUUID(), url: 'https://linear.app/x' } } };
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
const dataDir = mkdtempSync(join(tmpdir(), 'bgagent-bench-lifecycle-'));
const work = join(dataDir, 'src');
execFileSync('git', ['init', '-q', '-b', 'main', work]);
execFileSync('git', ['-C', work, '-c', 'user.name=b', '-c', 'user.email=b@b', 'commit', '-q', '--allow-empty', '-m', 'init']);
execFileSync('git', ['clone', '-q', '--bare', work, join(dataDir, 'remote.git')]);
const config = loadConfig({
  PATH: process.env.PATH,
  BGAGENT_DATA_DIR: dataDir,
  BGAGENT_PORT: '0',
  BGAGENT_SANDBOX: 'none',
  LINEAR_API_URL: stubUrl,
  LINEAR_API_KEY: 'env:BENCH_LINEAR_KEY',
  LINEAR_WEBHOOK_SECRET: 'env:BENCH_LINEAR_SECRET',
});
const server = await startServer({ config, logger: silentLogger });
const token = readFileSync(server.adminTokenPath, 'utf8').trim();
const repo = await fetch(`${server.url}/v1/repos`, {
  method: 'POST',
  headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
  body: JSON.stringify({ name: 'bench', clone_url: `file://${join(dataDir, 'remote.git')}`, agent: 'command', agent_settings: { command: 'true' } }),
});
if (repo.status !== 201) throw new Error(`repo: ${repo.status}`);
const [user] = await server.store.users.list();
await server.store.linear.upsertWorkspace({ id: ORG, urlKey: 'bench', name: 'Bench', apiKeyRef: 'env:BENCH_LINEAR_KEY', signingSecretRef: null, viewerId: VIEWER });
await server.store.linear.upsertProject({ projectId: PROJECT, workspaceId: ORG, name: 'Bench', repo: 'bench', triggerLabel: 'bgagent' });
await server.store.linear.linkUser({ workspaceId: ORG, linearUserId: ACTOR, linearUserName: 'Ada', linearUserEmail: null, userId: user.id });

async function labelIssue() {
  const issueId = randomUUID();
  const labelId = randomUUID();
  const body = JSON.stringify({
    action: 'update',
    type: 'Issue',
    organizationId: ORG,
    webhookTimestamp: Date.now(),
    actor: { id: ACTOR, name: 'Ada' },
    data: { id: issueId, identifier: 'ENG-1', title: 'Bench', description: 'x', teamId: 't', projectId: PROJECT, labelIds: [labelId], labels: [{ id: labelId, name: 'bgagent' }], url: 'https://linear.app/x' },
    updatedFrom: { labelIds: [] },
  });
  const res = await fetch(`${server.url}/v1/linear/webhook`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'linear-signature': createHmac('sha256', SECRET).update(body).digest('hex'), 'linear-delivery': randomUUID() },
    body,
  });
  await res.arrayBuffer();
  if (res.status !== 200) throw new Error(`webhook answered ${res.status}`);
  return issueId;
}

const until = async (check) => {
  while (!check()) await new Promise((r) => setTimeout(r, 1));
};
const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))].toFixed(1);

// Warm up (JIT, SQLite pages, git, the Linear client).
for (let i = 0; i < 5; i++) {
  const id = await labelIssue();
  await until(() => finished.has(id));
}

const latencies = [];
const issues = [];
for (let i = 0; i < SAMPLES; i++) {
  const t0 = performance.now();
  const issueId = await labelIssue();
  await until(() => eyesAt.has(issueId));
  latencies.push(eyesAt.get(issueId) - t0);
  await until(() => finished.has(issueId));
  issues.push(issueId);
}
latencies.sort((a, b) => a - b);
const perIssue = issues.map((id) => callsFor.get(id));
const rows = await server.store.db.kysely.selectFrom('tasks').select('linear_calls').execute();
const recorded = rows.map((r) => Number(r.linear_calls));

console.log(`machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, node ${process.version}; SQLite; command agent \`true\`, no PR`);
console.log('| label webhook → 👀 on the issue | tasks | p50 ms | p99 ms | max ms |');
console.log('|---|---|---|---|---|');
console.log(`| one task at a time | ${SAMPLES} | ${pct(latencies, 50)} | ${pct(latencies, 99)} | ${latencies.at(-1).toFixed(1)} |`);
console.log('');
console.log('| Linear calls per task | min | max | tasks.linear_calls (min–max) |');
console.log('|---|---|---|---|');
console.log(`| received by the stub | ${Math.min(...perIssue)} | ${Math.max(...perIssue)} | ${Math.min(...recorded)}–${Math.max(...recorded)} |`);

await server.close(1000);
await new Promise((r) => stub.close(r));
stub.closeAllConnections?.();
rmSync(dataDir, { recursive: true, force: true });
