// Linear webhook: acknowledgement latency and throughput with signed payloads through the real server,
// and the time from a webhook to bgagent's first call to Linear (a rejection comment on the issue).
// Linear is a tiny in-bench GraphQL stub that records when each call arrives (no schema validation).
import { createHmac, randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../dist/config/config.js';
import { silentLogger } from '../dist/log.js';
import { startServer } from '../dist/server/serve.js';

const TOTAL = Number(process.env.BENCH_WEBHOOKS ?? 2000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);
const FIRST_CALL_SAMPLES = Number(process.env.BENCH_FIRST_CALL_SAMPLES ?? 200);
const SLOW_LINEAR_MS = 2000;
const SECRET = 'whsec_bench_0123456789abcdef';
const ORG = randomUUID();

// --- the Linear stub ---------------------------------------------------------------------------
let stubLatencyMs = 0;
/** issueId → performance.now() of the first CommentCreate for it. */
const firstCommentAt = new Map();
let stubCalls = 0;
const stub = createServer((req, res) => {
  const arrived = performance.now();
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', async () => {
    stubCalls += 1;
    const { operationName, variables } = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    if (operationName === 'CommentCreate' && !firstCommentAt.has(variables.issueId)) firstCommentAt.set(variables.issueId, arrived);
    if (stubLatencyMs) await new Promise((r) => setTimeout(r, stubLatencyMs));
    const data =
      operationName === 'CommentCreate'
        ? { commentCreate: { success: true, comment: { id: randomUUID(), url: 'https://linear.app/x' } } }
        : operationName === 'ReactionCreate'
          ? { reactionCreate: { success: true, reaction: { id: randomUUID(), emoji: variables.emoji } } }
          : null;
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(data ? { data } : { errors: [{ message: `stub: ${operationName} not stubbed` }] }));
  });
});
await new Promise((r) => stub.listen(0, '127.0.0.1', r));
const stubUrl = `http://127.0.0.1:${stub.address().port}/graphql`;

// --- bgagent ---------------------------------------------------------------------------------------
process.env.BENCH_LINEAR_SECRET = SECRET;
process.env.BENCH_LINEAR_KEY = 'lin_api_bench_key';
const dataDir = mkdtempSync(join(tmpdir(), 'bgagent-bench-linear-'));
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
const webhookUrl = `${server.url}/v1/linear/webhook`;

/** A labelled issue that is in no project: bgagent answers with a comment and a ❌ on Linear. */
function labelledIssue() {
  const issueId = randomUUID();
  const labelId = randomUUID();
  return {
    issueId,
    body: JSON.stringify({
      action: 'update',
      type: 'Issue',
      organizationId: ORG,
      webhookTimestamp: Date.now(),
      actor: { id: randomUUID(), name: 'Ada' },
      data: { id: issueId, identifier: 'ENG-1', title: 'Bench', description: 'x', teamId: 't', projectId: null, labelIds: [labelId], labels: [{ id: labelId, name: 'bgagent' }], url: 'https://linear.app/x' },
      updatedFrom: { labelIds: [] },
    }),
  };
}

async function send(body) {
  const res = await fetch(webhookUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'linear-signature': createHmac('sha256', SECRET).update(body).digest('hex'), 'linear-delivery': randomUUID() },
    body,
  });
  await res.arrayBuffer();
  if (res.status !== 200) throw new Error(`webhook answered ${res.status}`);
}

const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))].toFixed(2);

async function ackRun(label) {
  const latencies = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < TOTAL) {
        next++;
        const { body } = labelledIssue();
        const t0 = performance.now();
        await send(body);
        latencies.push(performance.now() - t0);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return `| ${label} | ${TOTAL} | ${CONCURRENCY} | ${(TOTAL / seconds).toFixed(0)} | ${pct(latencies, 50)} | ${pct(latencies, 99)} |`;
}

async function drain() {
  for (;;) {
    const r = await server.store.db.kysely.selectFrom('linear_deliveries').select((eb) => eb.fn.countAll().as('n')).where('status', 'in', ['pending', 'processing']).executeTakeFirstOrThrow();
    if (Number(r.n) === 0) return;
    await new Promise((r) => setTimeout(r, 50));
  }
}

// Warm up (JIT, SQLite pages, the Linear client).
for (let i = 0; i < 50; i++) await send(labelledIssue().body);
await drain();

const rows = [];
rows.push(await ackRun('Linear answering at once'));
await drain();
stubLatencyMs = SLOW_LINEAR_MS;
rows.push(await ackRun(`Linear taking ${SLOW_LINEAR_MS / 1000} s per call`));
stubLatencyMs = 0;
// The slow run left a backlog that the worker works off at Linear's pace; not part of the figures.
await server.store.db.kysely.updateTable('linear_deliveries').set({ status: 'done' }).where('status', '=', 'pending').execute();
await drain();

const firstCall = [];
for (let i = 0; i < FIRST_CALL_SAMPLES; i++) {
  const { issueId, body } = labelledIssue();
  const t0 = performance.now();
  await send(body);
  while (!firstCommentAt.has(issueId)) await new Promise((r) => setImmediate(r));
  firstCall.push(firstCommentAt.get(issueId) - t0);
}
firstCall.sort((a, b) => a - b);

console.log(`machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, node ${process.version}; SQLite`);
console.log('| webhook acknowledgement | webhooks | concurrency | acks/s | p50 ms | p99 ms |');
console.log('|---|---|---|---|---|---|');
for (const row of rows) console.log(row);
console.log('');
console.log('| webhook → first call to Linear (rejection comment) | samples | p50 ms | p99 ms | max ms |');
console.log('|---|---|---|---|---|');
console.log(`| one webhook at a time | ${FIRST_CALL_SAMPLES} | ${pct(firstCall, 50)} | ${pct(firstCall, 99)} | ${firstCall.at(-1).toFixed(2)} |`);

await server.close(1000);
await new Promise((r) => stub.close(r));
stub.closeAllConnections?.();
rmSync(dataDir, { recursive: true, force: true });
