import { sql } from 'kysely';
import type { Store } from '../../src/store/index.js';

/** Every row of every bgagent table as text: for asserting that a secret appears nowhere in the database. */
export async function dumpDatabase(store: Store): Promise<string> {
  const k = store.db.kysely;
  const tables =
    store.db.dialect === 'postgres'
      ? (await sql<{ name: string }>`select tablename as name from pg_tables where schemaname = current_schema()`.execute(k)).rows
      : (await sql<{ name: string }>`select name from sqlite_master where type = 'table'`.execute(k)).rows;
  const parts: string[] = [];
  for (const { name } of tables) {
    const rows = (await sql<Record<string, unknown>>`select * from ${sql.table(name)}`.execute(k)).rows;
    parts.push(`${name}: ${JSON.stringify(rows)}`);
  }
  return parts.join('\n');
}
