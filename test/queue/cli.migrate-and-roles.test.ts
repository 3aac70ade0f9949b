import { afterEach, describe, expect, it } from 'vitest';
import pg from 'pg';
import { rmSync } from 'node:fs';
import { runCli } from '../support/cli.js';
import { createTestDatabase, postgresSkipReason, tempDir } from '../support/databases.js';

describe('bgagent serve --role on SQLite', () => {
  it('refuses api and worker with the reason: one process does everything on the embedded database', async () => {
    const dataDir = tempDir();
    try {
      for (const role of ['api', 'worker']) {
        const r = await runCli(['serve', '--role', role, '--port', '0'], { BGAGENT_DATA_DIR: dataDir });
        expect(r.code).not.toBe(0);
        expect(r.stderr).toContain('needs PostgreSQL (BGAGENT_DATABASE_URL)');
        expect(r.stderr).toContain('only "all"');
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

describe.skipIf(postgresSkipReason)('bgagent migrate on postgres', () => {
  const cleanups: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  it("applies bgagent's and graphile-worker's migrations, and again without harm", async () => {
    const db = await createTestDatabase();
    cleanups.push(() => db.drop());
    const dataDir = tempDir();
    cleanups.push(async () => rmSync(dataDir, { recursive: true, force: true }));
    for (let i = 0; i < 2; i++) {
      const r = await runCli(['migrate'], { BGAGENT_DATA_DIR: dataDir, BGAGENT_DATABASE_URL: db.url, BGAGENT_LOG_LEVEL: 'warn' });
      expect(r.stderr).toBe('');
      expect(r.stdout).toContain('migrations applied (postgres, graphile-worker)');
      expect(r.code).toBe(0);
    }
    const c = new pg.Client({ connectionString: db.url });
    await c.connect();
    cleanups.push(() => c.end());
    const tables = await c.query(
      `select table_schema || '.' || table_name as t from information_schema.tables where (table_schema = 'graphile_worker' and table_name = '_private_jobs') or table_name = 'tasks'`,
    );
    expect(tables.rows.map((r) => r.t).sort()).toEqual(['graphile_worker._private_jobs', 'public.tasks']);
  });
});
