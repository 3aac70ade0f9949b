import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { ulid } from 'ulid';
import type { Logger } from '../log.js';
import type { Store } from '../store/index.js';
import type { TaskSignals } from '../tasks/signals.js';
import type { TaskChannel } from '../orchestrator/task-channel.js';
import { installAccessControl } from './auth.js';
import { installErrorHandling } from './errors.js';
import { installNulCheck } from './nul-check.js';
import type { SandboxState } from '../sandbox/index.js';
import { healthRoutes } from './health.js';
import { Metrics } from '../metrics/metrics.js';
import { countTaskRejections, metricsRoutes, type MetricsAccess } from './metrics.js';
import { webRoutes } from './web/routes.js';
import { reposRoutes, type ReposRouteDeps } from './repos-routes.js';
import { tasksRoutes } from './tasks-routes.js';
import { TaskEventStreams, type EventStreamLimits } from './events-stream.js';
import { tokensRoutes } from './tokens-routes.js';
import { linearWebhookRoutes, type LinearWebhookDeps } from './linear-webhook.js';

export interface AppDeps {
  store: Store;
  signals: TaskSignals;
  logger: Logger;
  /** Prometheus metrics (default: a fresh registry for this app). */
  metrics?: Metrics;
  /** Who may scrape /metrics (default public). */
  metricsAccess?: MetricsAccess;
  /** Readiness also requires this to be true (the orchestrator started and not stopping). */
  workersRunning?: () => boolean;
  /** The data dir: no repository's clone URL may point into it. */
  dataDir?: string;
  /** Where `POST /v1/repos` keeps a git password or token given as a value (omitted: it refuses one). */
  repoSecrets?: ReposRouteDeps['secrets'];
  /** bgagent's own secret references, which no repository's git credential may name. */
  ownSecretRefs?: readonly string[];
  /** BGAGENT_GIT_CREDENTIAL_REFS: the server secrets a repository's git credential may name. */
  gitCredentialRefs?: readonly string[];
  /** How this process's agents run; unavailable makes it not ready (omitted: runs no agents). */
  sandbox?: SandboxState;
  /** The signed Linear webhook (public, verified by signature). */
  linearWebhook?: Omit<LinearWebhookDeps, 'store'>;
  /** Extra public routes under /v1 that authenticate by their own means (e.g. the Linear OAuth callback's state). */
  extraPublicRoutes?: (app: FastifyInstance) => Promise<void>;
  /** Extra routes under /v1 beside the API's own (e.g. Linear administration). */
  extraApiRoutes?: (api: FastifyInstance) => Promise<void>;
  /** Channel feedback for cancels the API performs itself. */
  channel?: TaskChannel;
  /** BGAGENT_PUBLIC_URL: an https one makes the session cookie Secure. */
  publicUrl?: string;
  /** BGAGENT_TRUST_PROXY, as Fastify's trustProxy: whose X-Forwarded-* headers to believe (default: nobody's). */
  trustProxy?: boolean | number | string[];
  /** Event stream limits (default: 20 per user, credential re-check every 10 s, database poll every 1 s). */
  streamLimits?: Partial<EventStreamLimits>;
}

/**
 * The HTTP app, without listening (tests use `inject` or listen on port 0). Every route declares who may
 * call it (see ./auth.ts), so no route is exempted by URL matching.
 */
export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const app = Fastify({
    // fastify types its own pino major; the instance is compatible at run time.
    loggerInstance: deps.logger as unknown as FastifyBaseLogger,
    genReqId: () => `req_${ulid()}`,
    bodyLimit: 1024 * 1024,
    // A hop count n: trust the nearest n proxies (Fastify's types have no number form).
    trustProxy: typeof deps.trustProxy === 'number' ? trustHops(deps.trustProxy) : (deps.trustProxy ?? false),
  });
  installNulCheck(app);
  installAccessControl(app, deps.store);
  installErrorHandling(app);
  const metrics = deps.metrics ?? new Metrics({ store: deps.store });
  await app.register(healthRoutes, { store: deps.store, workersRunning: deps.workersRunning, sandbox: deps.sandbox });
  await app.register(metricsRoutes, { metrics, access: deps.metricsAccess ?? 'public' });
  await app.register(webRoutes, { store: deps.store, publicUrl: deps.publicUrl });
  const streams = new TaskEventStreams({ store: deps.store, signals: deps.signals, logger: deps.logger, limits: deps.streamLimits });
  // Open streams would keep the server from closing.
  app.addHook('preClose', async () => streams.close());
  if (deps.linearWebhook) {
    const linear = deps.linearWebhook;
    await app.register(linearWebhookRoutes, { prefix: '/v1', store: deps.store, ...linear, onAck: (s: number) => { metrics.recordWebhookAck('linear', s); linear.onAck?.(s); } });
  }
  if (deps.extraPublicRoutes) await app.register(deps.extraPublicRoutes, { prefix: '/v1' });
  await app.register(
    async (api) => {
      countTaskRejections(api, metrics);
      await api.register(tasksRoutes, { store: deps.store, signals: deps.signals, channel: deps.channel, streams });
      await api.register(reposRoutes, { store: deps.store, dataDir: deps.dataDir, secrets: deps.repoSecrets, ownSecretRefs: deps.ownSecretRefs, gitCredentialRefs: deps.gitCredentialRefs });
      await api.register(tokensRoutes, { store: deps.store });
      if (deps.extraApiRoutes) await api.register(deps.extraApiRoutes);
    },
    { prefix: '/v1' },
  );
  return app;
}

function trustHops(n: number): (address: string, hop: number) => boolean {
  return (_address, hop) => hop < n;
}
