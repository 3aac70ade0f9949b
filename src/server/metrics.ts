import { timingSafeEqual, createHash } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { Metrics } from '../metrics/metrics.js';
import { ApiError } from '../tasks/errors.js';
import { errorBody } from './errors.js';

/**
 * Who may scrape `/metrics`: anyone (the Prometheus default), nobody (the route is not registered), or
 * whoever sends `Authorization: Bearer <token>` with the token resolved from BGAGENT_METRICS_TOKEN.
 */
export type MetricsAccess = 'public' | 'off' | { token(): Promise<string> };

export async function metricsRoutes(app: FastifyInstance, deps: { metrics: Metrics; access: MetricsAccess }): Promise<void> {
  const { metrics, access } = deps;
  if (access === 'off') return;
  // Public to the access hook: a scrape token, when set, is checked here.
  app.get('/metrics', { config: { access: 'public' } }, async (req, reply) => {
    if (access !== 'public') {
      const sent = req.headers.authorization?.match(/^Bearer\s+(\S+)$/i)?.[1];
      if (!sent || !sameSecret(sent, await access.token())) {
        return reply.status(401).send(errorBody('UNAUTHORIZED', 'this /metrics needs "Authorization: Bearer <BGAGENT_METRICS_TOKEN>"', req.id));
      }
    }
    let text: string;
    try {
      text = await metrics.render();
    } catch (err) {
      req.log.warn({ err }, 'metrics scrape failed');
      return reply.status(503).send(errorBody('SERVICE_UNAVAILABLE', 'metrics could not be collected (database unreachable?)', req.id));
    }
    return reply.header('content-type', metrics.contentType).header('cache-control', 'no-store').send(text);
  });
}

/** Counts refused task submissions (POST /tasks answered with an API error) by code. Call in the /v1 scope. */
export function countTaskRejections(api: FastifyInstance, metrics: Metrics): void {
  api.addHook('onError', async (req, _reply, err) => {
    if (req.method === 'POST' && req.routeOptions.url?.endsWith('/tasks') && err instanceof ApiError) metrics.recordTaskRejected(err.code);
  });
}

function sameSecret(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a).digest();
  const hb = createHash('sha256').update(b).digest();
  return timingSafeEqual(ha, hb);
}

/** BGAGENT_METRICS_TOKEN: unset → public; "off" → not served; else a credential reference for the scrape token. */
export function metricsAccessFrom(ref: string | undefined, resolve: (ref: string) => Promise<string>): MetricsAccess {
  if (ref === undefined) return 'public';
  if (ref.trim().toLowerCase() === 'off') return 'off';
  return { token: () => resolve(ref) };
}
