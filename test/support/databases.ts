import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { openStore, type Store } from '../../src/store/index.js';

/**
 * The dialects every store-backed suite runs on. PostgreSQL comes from BGAGENT_TEST_DATABASE_URL; each
 * opened store gets its own throwaway database so test files never see each other's rows.
 */
export interface StoreTarget {
  name: 'sqlite' | 'postgres';
  /** Why this target is skipped, or undefined when it runs. */
  skipReason: string | undefined;
  open(opts?: { now?: () => number }): Promise<TestStore>;
}

export interface TestStore extends Store {
  dataDir: string;
  databaseUrl: string | undefined;
  /** Close and delete everything this store created. */
  destroy(): Promise<void>;
}

const pgUrl = process.env.BGAGENT_TEST_DATABASE_URL;

if (!pgUrl && process.env.CI) {
  throw new Error('BGAGENT_TEST_DATABASE_URL must be set in CI: the PostgreSQL tests may not be skipped there');
}

export const postgresSkipReason = pgUrl
  ? undefined
  : 'PostgreSQL tests skipped: BGAGENT_TEST_DATABASE_URL is not set (e.g. postgres://postgres@127.0.0.1:5432/test)';

if (postgresSkipReason) console.warn(postgresSkipReason);

export function tempDir(prefix = 'bgagent-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Creates an empty PostgreSQL database and returns its URL and a function that drops it. */
export async function createTestDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  if (!pgUrl) throw new Error(postgresSkipReason);
  const name = `bgagent_t_${process.pid}_${Math.random().toString(36).slice(2, 10)}`;
  const admin = new pg.Client({ connectionString: pgUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(pgUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: pgUrl });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

export const storeTargets: StoreTarget[] = [
  {
    name: 'sqlite',
    skipReason: undefined,
    async open(opts = {}) {
      const dataDir = tempDir();
      const store = await openStore({ dataDir, now: opts.now });
      return {
        ...store,
        dataDir,
        databaseUrl: undefined,
        async destroy() {
          await store.close();
          rmSync(dataDir, { recursive: true, force: true });
        },
      };
    },
  },
  {
    name: 'postgres',
    skipReason: postgresSkipReason,
    async open(opts = {}) {
      const dataDir = tempDir();
      const database = await createTestDatabase();
      const store = await openStore({ dataDir, databaseUrl: database.url, now: opts.now, poolSize: 5 });
      return {
        ...store,
        dataDir,
        databaseUrl: database.url,
        async destroy() {
          await store.close();
          await database.drop();
          rmSync(dataDir, { recursive: true, force: true });
        },
      };
    },
  },
];
