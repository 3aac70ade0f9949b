import type { AddressInfo } from 'node:net';
import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { silentLogger } from '../../src/log.js';
import { TaskSignals } from '../../src/tasks/signals.js';
import type { SandboxState } from '../../src/sandbox/index.js';
import { buildApp } from '../../src/server/app.js';
import { knownMigrationNames } from '../../src/store/migrations.js';
import { storeTargets, type TestStore } from '../support/databases.js';

for (const target of storeTargets) {
  describe.skipIf(target.skipReason)(`health and readiness on ${target.name}`, () => {
    let store: TestStore | undefined;
    let app: FastifyInstance | undefined;
    afterEach(async () => {
      await app?.close();
      await store?.destroy().catch(() => {});
      app = store = undefined;
    });

    async function serve(workersRunning?: () => boolean, sandbox?: SandboxState): Promise<string> {
      store = await target.open();
      app = await buildApp({ store, signals: new TaskSignals(), logger: silentLogger, workersRunning, sandbox });
      await app.listen({ host: '127.0.0.1', port: 0 });
      return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    }

    async function get(url: string) {
      const res = await fetch(url);
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    }

    it('is alive, and ready when the database answers, migrations are applied and workers run', async () => {
      const url = await serve(() => true);
      expect(await get(`${url}/healthz`)).toEqual({ status: 200, body: { status: 'ok' } });
      expect(await get(`${url}/readyz`)).toEqual({
        status: 200,
        body: { status: 'ready', database: target.name, migrations: knownMigrationNames(target.name).length, workers: 'running', sandbox: 'not checked' },
      });
    });

    it('is not ready when it runs agents and has no working sandbox', async () => {
      const url = await serve(() => true, { mode: 'unavailable', reason: 'bwrap (bubblewrap) is not installed or not on PATH' });
      expect(await get(`${url}/readyz`)).toEqual({
        status: 503,
        body: { status: 'unavailable', database: target.name, reason: 'sandbox unavailable: bwrap (bubblewrap) is not installed or not on PATH' },
      });
      await app!.close();
      await store!.destroy();
      const unconfined = await serve(() => true, { mode: 'none' });
      expect((await get(`${unconfined}/readyz`)).body).toMatchObject({ status: 'ready', sandbox: 'none' });
    });

    it('is not ready while the workers are not running', async () => {
      let running = false;
      const url = await serve(() => running);
      expect(await get(`${url}/readyz`)).toEqual({
        status: 503,
        body: { status: 'unavailable', database: target.name, reason: 'workers are not running (starting or shutting down)' },
      });
      running = true;
      expect((await get(`${url}/readyz`)).status).toBe(200);
      // Alive does not depend on readiness.
      running = false;
      expect((await get(`${url}/healthz`)).status).toBe(200);
    });

    it('names the migrations that are not applied', async () => {
      const url = await serve(() => true);
      const last = knownMigrationNames(target.name).at(-1)!;
      await sql`delete from kysely_migration where name = ${last}`.execute(store!.db.kysely);
      const res = await get(`${url}/readyz`);
      expect(res.status).toBe(503);
      expect(res.body.reason).toBe(`migrations not applied: ${last}`);
      await sql`drop table kysely_migration`.execute(store!.db.kysely);
      expect((await get(`${url}/readyz`)).body.reason).toBe(`migrations not applied: ${knownMigrationNames(target.name).join(', ')}`);
    });

    it('is not ready when the database is unreachable', async () => {
      const url = await serve(() => true);
      await store!.close();
      expect(await get(`${url}/readyz`)).toEqual({ status: 503, body: { status: 'unavailable', database: target.name, reason: 'database unreachable' } });
    });
  });
}
