import { readFileSync, rmSync } from 'node:fs';
import { loadConfig } from '../../src/config/config.js';
import { silentLogger, type Logger } from '../../src/log.js';
import { startServer, type RunningServer } from '../../src/server/serve.js';
import { createTestDatabase, tempDir } from './databases.js';

export interface TestServer extends RunningServer {
  dataDir: string;
  databaseUrl: string | undefined;
  adminToken: string;
  /** Calls the API; returns status, parsed body and headers. */
  api<T = any>(method: string, path: string, opts?: { body?: unknown; token?: string | null; headers?: Record<string, string>; rawBody?: string }): Promise<{ status: number; body: T; headers: Headers }>;
  /** Stops the server and deletes its data dir and database. */
  destroy(): Promise<void>;
}

export interface TestServerOptions {
  dialect: 'sqlite' | 'postgres';
  env?: Record<string, string>;
  logger?: Logger;
  tickMs?: number;
  /** Reuse an existing data dir / database (restart tests). */
  dataDir?: string;
  databaseUrl?: string;
}

export async function startTestServer(opts: TestServerOptions): Promise<TestServer> {
  const dataDir = opts.dataDir ?? tempDir();
  const database = opts.dialect === 'postgres' && !opts.databaseUrl ? await createTestDatabase() : undefined;
  const databaseUrl = opts.databaseUrl ?? database?.url;
  const config = loadConfig({
    PATH: process.env.PATH,
    BGAGENT_DATA_DIR: dataDir,
    BGAGENT_PORT: '0',
    BGAGENT_SANDBOX: 'none',
    ...(databaseUrl ? { BGAGENT_DATABASE_URL: databaseUrl } : {}),
    ...opts.env,
  });
  const server = await startServer({ config, logger: opts.logger ?? silentLogger, tickMs: opts.tickMs ?? 200 });
  const adminToken = readFileSync(server.adminTokenPath, 'utf8').trim();
  return {
    ...server,
    dataDir,
    databaseUrl,
    adminToken,
    async api(method, path, o = {}) {
      const headers: Record<string, string> = { ...o.headers };
      const token = o.token === undefined ? adminToken : o.token;
      if (token) headers.authorization = `Bearer ${token}`;
      let body: string | undefined = o.rawBody;
      if (o.body !== undefined) {
        body = JSON.stringify(o.body);
        headers['content-type'] = 'application/json';
      }
      const res = await fetch(`${server.url}${path}`, { method, headers, body });
      const text = await res.text();
      let parsed: unknown = text;
      try {
        parsed = JSON.parse(text);
      } catch {
        // not JSON
      }
      return { status: res.status, body: parsed as any, headers: res.headers };
    },
    async destroy() {
      await server.close(2000);
      await database?.drop();
      if (!opts.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Polls until `check` returns a value (not undefined), or fails after `timeoutMs`. */
export async function waitFor<T>(check: () => Promise<T | undefined> | T | undefined, timeoutMs = 15_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
