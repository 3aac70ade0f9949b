import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { createTestDatabase, postgresSkipReason, tempDir } from '../support/databases.js';
import { branchesOf, createBareRemote } from '../support/git-repos.js';
import { spawnServe } from '../support/cli.js';

/**
 * Scaled for 2 cores and about 30 s: 1 API process and 3 worker processes on one PostgreSQL database,
 * 36 tasks from 4 users (cap 2 each), `command` agents sleeping 0-1.4 s (derived from the task id);
 * every 3 s a random worker is killed with SIGKILL and a new one started. Leases are 2 s.
 */
const TASKS = 36;
const USERS = 4;
const CAP = 2;
const WORKERS = 3;
const KILL_EVERY_MS = 3000;
const DEADLINE_MS = 150_000;
const TERMINAL_EVENTS = new Set(['task_completed', 'task_failed', 'task_cancelled', 'task_timed_out']);

describe.skipIf(postgresSkipReason)('chaos: workers killed at random on postgres', () => {
  const children = new Set<ChildProcess>();
  const cleanups: (() => Promise<unknown> | void)[] = [];
  afterAll(async () => {
    for (const c of children) c.kill('SIGKILL');
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  it('loses nothing, doubles nothing and never exceeds a user cap', { timeout: DEADLINE_MS + 60_000 }, async () => {
    const db = await createTestDatabase();
    cleanups.push(() => db.drop());
    const base = {
      BGAGENT_DATABASE_URL: db.url,
      BGAGENT_LEASE_SECONDS: '2',
      BGAGENT_SANDBOX: 'none',
      BGAGENT_MAX_CONCURRENT_PER_USER: String(CAP),
      BGAGENT_WORKER_CONCURRENCY: '4',
      BGAGENT_SHUTDOWN_GRACE_SECONDS: '1',
      BGAGENT_LOG_LEVEL: 'error',
    };
    const start = async (role: 'api' | 'worker') => {
      const dataDir = tempDir(`bgagent-chaos-${role}-`);
      const proc = await spawnServe({ ...base, BGAGENT_ROLE: role, BGAGENT_DATA_DIR: dataDir });
      proc.child.on('exit', () => children.delete(proc.child));
      proc.child.on('error', () => undefined);
      children.add(proc.child);
      return { ...proc, dataDir };
    };

    const api = await start('api');
    const admin = readFileSync(join(api.dataDir, 'admin-token'), 'utf8').trim();
    const call = async (token: string, method: string, path: string, body?: unknown) => {
      const res = await fetch(`${api.url}${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
        body: body ? JSON.stringify(body) : undefined,
      });
      return { status: res.status, body: (await res.json()) as any };
    };
    const remote = createBareRemote();
    const command = `sleep $(echo "$BGAGENT_TASK_ID" | cksum | awk '{print ($1 % 15) / 10}'); echo "$BGAGENT_TASK_ID" > result.txt`;
    expect((await call(admin, 'POST', '/v1/repos', { name: 'demo', clone_url: remote.url, agent: 'command', agent_settings: { command } })).status).toBe(201);
    const tokens: string[] = [];
    for (let u = 0; u < USERS; u++) tokens.push((await call(admin, 'POST', '/v1/tokens', { user: `user${u}`, max_concurrent: CAP })).body.token);

    let workers = await Promise.all(Array.from({ length: WORKERS }, () => start('worker')));
    const accepted: string[] = [];
    for (let i = 0; i < TASKS; i++) {
      const res = await call(tokens[i % USERS]!, 'POST', '/v1/tasks', { repo: 'demo', task: `chaos task ${i}` });
      expect(res.status).toBe(201);
      accepted.push(res.body.task.id);
    }

    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    cleanups.push(() => client.end());
    const openCount = async () =>
      Number((await client.query(`select count(*)::int as n from tasks where status not in ('COMPLETED','FAILED','CANCELLED','TIMED_OUT')`)).rows[0].n);

    const deadline = Date.now() + DEADLINE_MS;
    let kills = 0;
    let nextKill = Date.now() + KILL_EVERY_MS;
    while ((await openCount()) > 0) {
      if (Date.now() > deadline) throw new Error(`chaos: ${await openCount()} tasks still open after ${DEADLINE_MS} ms`);
      if (Date.now() >= nextKill) {
        const victim = workers[Math.floor(Math.random() * workers.length)]!;
        victim.child.kill('SIGKILL');
        kills++;
        workers = [...workers.filter((w) => w !== victim), await start('worker')];
        nextKill = Date.now() + KILL_EVERY_MS;
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(kills).toBeGreaterThan(0);

    // No delivery lost: every accepted task exists and is terminal.
    const tasks = (await client.query(`select id, user_id, status, branch_name, outcome from tasks`)).rows as {
      id: string;
      user_id: string;
      status: string;
      branch_name: string;
      outcome: string | null;
    }[];
    expect(tasks.map((t) => t.id).sort()).toEqual([...accepted].sort());

    const events = (await client.query(`select id, task_id, type from task_events order by id`)).rows as { id: number; task_id: string; type: string }[];
    const byTask = new Map<string, string[]>();
    for (const e of events) byTask.set(e.task_id, [...(byTask.get(e.task_id) ?? []), e.type]);
    for (const t of tasks) {
      const types = byTask.get(t.id) ?? [];
      // Terminal exactly once, admitted at most once, the agent started at most once (never run twice).
      expect(types.filter((x) => TERMINAL_EVENTS.has(x)), t.id).toHaveLength(1);
      expect(types.filter((x) => x === 'admission_granted').length, t.id).toBeLessThanOrEqual(1);
      expect(types.filter((x) => x === 'session_started').length, t.id).toBeLessThanOrEqual(1);
    }

    // No user ever above the cap, replaying the event log in commit-safe id order.
    const userOf = new Map(tasks.map((t) => [t.id, t.user_id]));
    const active = new Map<string, number>();
    const holding = new Set<string>();
    let peak = 0;
    for (const e of events) {
      const user = userOf.get(e.task_id)!;
      if (e.type === 'admission_granted') {
        holding.add(e.task_id);
        active.set(user, (active.get(user) ?? 0) + 1);
        peak = Math.max(peak, active.get(user)!);
        expect(active.get(user), `user ${user} at event ${e.id}`).toBeLessThanOrEqual(CAP);
      } else if (TERMINAL_EVENTS.has(e.type) && holding.delete(e.task_id)) {
        active.set(user, active.get(user)! - 1);
      }
    }
    expect(peak).toBe(CAP);

    // Each completed task with changes pushed exactly one branch; nothing else reached the remote.
    const branches = branchesOf(remote.path).filter((b) => b !== 'main');
    const pushed = tasks.filter((t) => t.status === 'COMPLETED' && t.outcome === 'changes_pushed');
    expect(pushed.length).toBeGreaterThan(0);
    // Every agent writes a file, so a task reported COMPLETED without a pushed branch would be lost work.
    expect(tasks.filter((t) => t.status === 'COMPLETED' && t.outcome !== 'changes_pushed').map((t) => t.id)).toEqual([]);
    for (const t of pushed) expect(branches.filter((b) => b === t.branch_name), t.id).toHaveLength(1);
    const completedBranches = new Set(tasks.filter((t) => t.status === 'COMPLETED').map((t) => t.branch_name));
    for (const b of branches) expect(completedBranches.has(b), b).toBe(true);
    expect(new Set(branches).size).toBe(branches.length);
    console.info(
      `chaos: ${kills} workers killed; ${tasks.filter((t) => t.status === 'COMPLETED').length} completed, ` +
        `${tasks.filter((t) => t.status === 'FAILED').length} failed (worker lost), ${branches.length} branches`,
    );
  });
});
