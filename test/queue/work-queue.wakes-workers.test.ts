import { afterEach, describe, expect, it } from 'vitest';
import pg from 'pg';
import { createTestDatabase, postgresSkipReason } from '../support/databases.js';
import { waitFor } from '../support/server.js';
import { EmbeddedWorkQueue, GraphileWorkQueue, migrateWorkQueue, type WorkQueue } from '../../src/queue/index.js';
import { TaskSignals } from '../../src/tasks/signals.js';
import { silentLogger } from '../../src/log.js';

describe('the embedded work queue', () => {
  it('delivers a notification to the local worker, and nothing after stop', async () => {
    const signals = new TaskSignals();
    const queue = new EmbeddedWorkQueue(signals);
    const woken: string[] = [];
    await queue.start((u) => woken.push(u));
    await queue.notify('alice');
    signals.wake('bob');
    await queue.stop();
    await queue.notify('carol');
    expect(woken).toEqual(['alice', 'bob']);
    await queue.close();
  });
});

describe.skipIf(postgresSkipReason)('the graphile-worker work queue on postgres', () => {
  const cleanups: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  const open = (url: string, signals = new TaskSignals()) => {
    const queue: WorkQueue = new GraphileWorkQueue({ connectionString: url, signals, logger: silentLogger });
    cleanups.push(() => queue.close());
    return { queue, signals };
  };

  it("wakes a worker in another process's queue from a notification or a local wake-up of an API process", async () => {
    const db = await createTestDatabase();
    cleanups.push(() => db.drop());
    await migrateWorkQueue(db.url, silentLogger);
    await migrateWorkQueue(db.url, silentLogger); // idempotent

    const worker = open(db.url);
    const woken: string[] = [];
    await worker.queue.start((u) => woken.push(u));
    const api = open(db.url); // never started: an API-only process

    await api.queue.notify('alice');
    await waitFor(() => (woken.includes('alice') ? true : undefined), 10_000, 'alice woken');
    api.signals.wake('bob'); // e.g. a task created or cancelled through this process's REST API
    await waitFor(() => (woken.includes('bob') ? true : undefined), 10_000, 'bob woken');

    // Repeated notifications for one user coalesce into one pending job (per-user jobKey).
    await worker.queue.stop();
    for (let i = 0; i < 5; i++) await api.queue.notify('carol');
    const c = new pg.Client({ connectionString: db.url });
    await c.connect();
    const pending = await c.query(`select count(*)::int as n from graphile_worker.jobs where key = 'wake:carol'`);
    await c.end();
    expect(pending.rows[0].n).toBe(1);
    expect(woken).not.toContain('carol');
  });
});
