import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import type { Store } from '../store/index.js';

/** Public, unauthenticated: is the process alive and can it reach its database. */
export async function healthRoutes(app: FastifyInstance, deps: { store: Store }): Promise<void> {
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (req, reply) => {
    try {
      await sql`select 1`.execute(deps.store.db.kysely);
      return { status: 'ready', database: deps.store.db.dialect };
    } catch (err) {
      req.log.warn({ err }, 'readiness check failed');
      return reply.status(503).send({ status: 'unavailable', database: deps.store.db.dialect, reason: 'database unreachable' });
    }
  });
}
