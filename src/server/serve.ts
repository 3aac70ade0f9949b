import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { ownSecretReferences, type Config } from '../config/config.js';
import type { Logger } from '../log.js';
import { openStore, type Store } from '../store/index.js';
import { Orchestrator } from '../orchestrator/orchestrator.js';
import { TaskSignals } from '../tasks/signals.js';
import { RetentionJob } from '../orchestrator/retention.js';
import { WorkspaceManager } from '../workspace/index.js';
import { createHarness } from '../agent/harnesses.js';
import { buildApp } from './app.js';
import { Metrics } from '../metrics/metrics.js';
import { metricsAccessFrom, metricsRoutes } from './metrics.js';
import { healthRoutes } from './health.js';
import { installAccessControl } from './auth.js';
import { createWorkQueue, migrateWorkQueue } from '../queue/index.js';
import { createCredentialResolver } from '../credentials/index.js';
import { ensureAdminToken } from './admin-token.js';
import { acquireServeLock, type ServeLock } from './serve-lock.js';
import { LinearClients } from '../linear/clients.js';
import { LinearIssueFeedback } from '../linear/feedback.js';
import { LinearDeliveryWorker } from '../linear/delivery-worker.js';
import { LinearTaskChannel } from '../linear/task-channel.js';
import { handleAgentSessionEvent, reportLostSessionEvent, type AgentSessionEventDeps } from '../linear/sessions/session-events.js';
import { sendTaskInput } from '../tasks/task-input.js';
import type { Task } from '../tasks/task.js';
import { linearAdminRoutes } from './linear-admin-routes.js';
import { linearSessionRoutes } from './linear-session-routes.js';
import { linearOAuthAdminRoutes, linearOAuthCallbackRoutes, type LinearOAuthRouteDeps } from './linear-oauth-routes.js';
import { moveLinearSecretsIntoDatabase } from '../linear/stored-secrets.js';
import { gitCredentialPolicy, moveClonePasswordsIntoDatabase, repoGitAuth } from '../orchestrator/repo-git-credential.js';
import { OAuthTokenEndpoint } from '../linear/oauth/token-endpoint.js';
import { OAuthTokenVault } from '../linear/oauth/token-vault.js';
import { GitHubIntegration, githubAuthFrom } from '../github/integration.js';
import { buildModelEnv } from '../agent/model-env.js';
import { reapOrphanedAgents, resolveSandbox, type SandboxState } from '../sandbox/index.js';
import { describeTaskContext } from '../linear/task-context.js';

export interface ServeOptions {
  config: Config;
  logger: Logger;
  /** Recovery sweep interval (tests shorten it). */
  tickMs?: number;
}

export interface RunningServer {
  app: FastifyInstance;
  store: Store;
  orchestrator: Orchestrator;
  metrics: Metrics;
  /** The Linear clients every part of this process uses (one per API key, one per OAuth workspace). */
  linearClients: LinearClients;
  url: string;
  adminTokenPath: string;
  close(graceMs?: number): Promise<void>;
}

/**
 * What `bgagent serve` runs in one process, by role: `all` (the default, and the only role on SQLite) runs
 * the HTTP API and the worker; `api` the HTTP API and the Linear webhooks it accepts (tasks are persisted
 * and workers woken through the queue); `worker` the orchestrator and the Linear delivery worker, with only
 * /healthz, /readyz and /metrics over HTTP.
 */
export async function startServer(opts: ServeOptions): Promise<RunningServer> {
  const { config, logger } = opts;
  let lock: ServeLock | undefined;
  if (!config.databaseUrl) lock = acquireServeLock(config.dataDir);
  try {
    // Agents a killed server left running: before anything here starts one of its own.
    await reapOrphanedAgents(config.dataDir, logger);
    const store = await openStore({ dataDir: config.dataDir, databaseUrl: config.databaseUrl, maxQueuedPerUser: config.maxQueuedPerUser });
    await migrateWorkQueue(config.databaseUrl, logger);
    const runsApi = config.role !== 'worker';
    const runsWorker = config.role !== 'api';
    const admin = await ensureAdminToken(store, config.dataDir);
    if (admin.created) logger.info({ path: admin.path }, 'created the admin API token');
    const signals = new TaskSignals();
    const queue = createWorkQueue({ databaseUrl: config.databaseUrl, signals, logger });
    const workspaces = new WorkspaceManager({ dataDir: config.dataDir, logger });
    const credentials = createCredentialResolver(config, logger, store.secrets);
    // Given the store's secrets, the resolver has them.
    const databaseSecrets = credentials.databaseSecrets!;
    const oauthVault = new OAuthTokenVault(databaseSecrets);
    if (config.databaseUrl && config.vaultKey === undefined) {
      logger.warn('BGAGENT_VAULT_KEY is not set: the secrets in the database are encrypted with this data dir\'s vault.key, which other processes on the same database do not have; set the same BGAGENT_VAULT_KEY for every process');
    }
    await databaseSecrets.verifyKey().catch((err: unknown) => logger.error({ err }, 'the secrets in the database cannot be read or written with this process\'s key'));
    await moveLinearSecretsIntoDatabase({ store, secrets: databaseSecrets, oauthVault, fileVault: credentials.vault, logger });
    await moveClonePasswordsIntoDatabase({ store, secrets: databaseSecrets, logger });
    const { clientId: oauthClientId, clientSecretRef: oauthSecretRef, tokenUrl } = config.linear.oauth;
    const oauthEndpoint =
      oauthClientId && oauthSecretRef
        ? new OAuthTokenEndpoint({ tokenUrl, client: { clientId: oauthClientId, clientSecret: async () => (await credentials.resolve(oauthSecretRef)).reveal() } })
        : undefined;
    const linearClients = new LinearClients({
      apiUrl: config.linear.apiUrl,
      defaultApiKeyRef: config.linear.apiKeyRef,
      credentials,
      linear: store.linear,
      oauth: { store: store.linearOAuth, vault: oauthVault, endpoint: oauthEndpoint },
      logger,
      onCall: (op, outcome) => metrics.recordLinearCall(op, outcome),
      onCircuitChange: (open) => metrics.setLinearCircuitState(open),
    });
    const linearFeedback = new LinearIssueFeedback(linearClients, logger);
    const reveal = async (ref: string) => (await credentials.resolve(ref)).reveal();
    const configSecrets = ownSecretReferences(config);
    const githubAuth = githubAuthFrom(config.github, reveal, (ref) => credentials.invalidate(ref), logger);
    const publicUrl = config.publicUrl;
    const github = githubAuth
      ? new GitHubIntegration({ apiUrl: config.github.apiUrl, auth: githubAuth, logger, taskUrl: publicUrl ? (id) => `${publicUrl}/tasks/${id}` : undefined })
      : undefined;
    const sandbox = await resolveSandbox(config.sandbox);
    if (runsWorker && sandbox.mode === 'unavailable') logger.error({ reason: sandbox.reason }, 'no agent will run: the sandbox is unavailable (tasks fail with SANDBOX_UNAVAILABLE)');
    const anthropicKeyRef = config.anthropic.apiKeyRef;
    const claude = {
      model: config.model,
      modelEnv: () => buildModelEnv({ apiKey: anthropicKeyRef ? () => reveal(anthropicKeyRef) : undefined, baseUrl: config.anthropic.baseUrl }),
      tools: {
        getTaskContext: async (taskId: string) => {
          const task = await store.tasks.get(taskId);
          return task ? describeTaskContext(task, linearClients, logger) : `task ${taskId} not found`;
        },
      },
    };
    const metrics: Metrics = new Metrics({
      store,
      workerLeases: (): number => orchestrator.runningCount,
      diskUsage: runsWorker ? () => workspaces.diskUsage() : undefined,
    });
    const taskChannel = new LinearTaskChannel({ store, feedback: linearFeedback, clients: linearClients, logger, defaultCap: config.maxConcurrentPerUser });
    const orchestrator = new Orchestrator({
      store,
      signals,
      queue,
      logger,
      workspaces,
      harnessFor: (repo) => createHarness(repo.agent, { logger, dataDir: config.dataDir, sandbox, claude }),
      gitAuthFor: async (repo) => (github?.handles(repo) ? { token: await github.pushToken(repo) } : repoGitAuth(repo, reveal, logger, () => gitCredentialPolicy(store, config.gitCredentialRefs, configSecrets))),
      github,
      leaseMs: config.leaseMs,
      taskTimeoutMs: config.taskTimeoutMs,
      sandbox,
      queueMaxAgeMs: config.queueMaxAgeMs,
      inputTimeoutMs: config.inputTimeoutMs,
      concurrency: config.workerConcurrency,
      maxConcurrentPerUser: config.maxConcurrentPerUser,
      maxOutputEventsPerTask: config.maxOutputEventsPerTask,
      tickMs: opts.tickMs,
      metrics,
      channel: taskChannel,
    });
    const onTaskCreated = (t: Task) => signals.wake(t.userId); /* forwarded to the queue */
    const agentSessionDeps: AgentSessionEventDeps = {
      store,
      clients: linearClients,
      signals,
      logger,
      onTaskCreated,
      channel: taskChannel,
      publicUrl,
      sendTaskInput: (taskId, input) => sendTaskInput({ store, signals, onTaskCreated }, taskId, input),
    };
    const linearDeliveries = new LinearDeliveryWorker({
      store,
      feedback: linearFeedback,
      logger,
      oauthVault,
      onTaskCreated,
      agentSessions: (payload, deliveryId) => handleAgentSessionEvent(agentSessionDeps, payload, deliveryId),
      agentSessionLost: (payload, deliveryId, unavailable) => reportLostSessionEvent(agentSessionDeps, payload, deliveryId, unavailable),
    });
    const oauthRoutes: LinearOAuthRouteDeps = { store, config, linearClients, vault: oauthVault, endpoint: oauthEndpoint, logger };
    const app = runsApi ? await buildApp({
      store,
      publicUrl,
      trustProxy: config.trustProxy,
      streamLimits: { maxPerUser: config.maxStreamsPerUser },
      dataDir: config.dataDir,
      repoSecrets: { secrets: databaseSecrets, credentials },
      ownSecretRefs: configSecrets,
      gitCredentialRefs: config.gitCredentialRefs,
      signals,
      logger,
      metrics,
      metricsAccess: metricsAccessFrom(config.metricsTokenRef, async (ref) => (await credentials.resolve(ref)).reveal()),
      workersRunning: runsWorker ? () => orchestrator.isRunning : undefined,
      sandbox: runsWorker ? sandbox : undefined,
      linearWebhook: {
        defaultSecretRef: config.linear.webhookSecretRef,
        resolveSecret: async (ref) => (await credentials.resolve(ref)).reveal(),
        onAccepted: () => linearDeliveries.wake(),
      },
      extraApiRoutes: async (api) => {
        await linearAdminRoutes(api, { store, credentials, secrets: databaseSecrets, linearClients, config });
        await linearOAuthAdminRoutes(api, oauthRoutes);
        await linearSessionRoutes(api, { store });
      },
      extraPublicRoutes: (app) => linearOAuthCallbackRoutes(app, oauthRoutes),
      channel: taskChannel,
    }) : await buildWorkerApp({ store, metrics, logger, metricsAccess: metricsAccessFrom(config.metricsTokenRef, reveal), workersRunning: () => orchestrator.isRunning, sandbox });
    if (runsWorker) await orchestrator.start();
    // Every role processes stored Linear webhooks: the process that accepted one starts on it at once (the
    // first sign of life on the issue), and leased claims keep two processes off the same delivery.
    linearDeliveries.start();
    // Processes that run agents also forget what ended tasks left behind, once it is past retention.
    const retention =
      runsWorker && config.retentionMs !== undefined
        ? new RetentionJob({ store, retentionMs: config.retentionMs, logger, onDeleted: (table, rows) => metrics.recordRetentionDeleted(table, rows) })
        : undefined;
    retention?.start();
    const address = await app.listen({ host: config.host, port: config.port });
    logger.info({ url: address, role: config.role, queue: queue.kind, database: store.db.dialect, dataDir: config.dataDir }, 'bgagent is serving');
    return {
      app,
      store,
      orchestrator,
      metrics,
      linearClients,
      url: address,
      adminTokenPath: admin.path,
      async close(graceMs = config.shutdownGraceMs) {
        await app.close();
        await linearDeliveries.stop();
        await retention?.stop();
        await orchestrator.stop(graceMs);
        await taskChannel.drain();
        await queue.close().catch((err: unknown) => logger.warn({ err }, 'could not close the work queue'));
        await store.close();
        lock?.release();
      },
    };
  } catch (err) {
    lock?.release();
    throw err;
  }
}

/** The worker role's HTTP surface: liveness, readiness (database, migrations, orchestrator) and metrics. */
async function buildWorkerApp(deps: {
  store: Store;
  metrics: Metrics;
  logger: Logger;
  metricsAccess: ReturnType<typeof metricsAccessFrom>;
  workersRunning: () => boolean;
  sandbox: SandboxState;
}): Promise<FastifyInstance> {
  const app = Fastify({ loggerInstance: deps.logger as unknown as FastifyBaseLogger });
  installAccessControl(app, deps.store);
  await app.register(healthRoutes, { store: deps.store, workersRunning: deps.workersRunning, sandbox: deps.sandbox });
  await app.register(metricsRoutes, { metrics: deps.metrics, access: deps.metricsAccess });
  return app;
}
