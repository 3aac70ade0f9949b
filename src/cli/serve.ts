import { Option, type Command } from 'commander';
import { loadConfig } from '../config/config.js';
import { createLogger } from '../log.js';
import { positiveInt } from './tasks.js';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export function registerServeCommand(program: Command): void {
  program
    .command('serve')
    .description('Run the bgagent server: REST API, webhooks and the worker that runs agents')
    .option('--port <port>', 'port to listen on (BGAGENT_PORT, default 8080)')
    .option('--host <host>', 'address to listen on (BGAGENT_HOST, default 127.0.0.1)')
    .addOption(
      new Option('--role <role>', 'what this process runs: api (HTTP only), worker (runs agents), all (BGAGENT_ROLE, default all; api and worker need PostgreSQL)').choices([
        'api',
        'worker',
        'all',
      ]),
    )
    .option('--concurrency <n>', 'agents this process runs at once (BGAGENT_WORKER_CONCURRENCY, default 4)', positiveInt)
    .option('--log-level <level>', `log level: ${LOG_LEVELS.join(', ')} (BGAGENT_LOG_LEVEL, default info)`)
    .action(async (o: { port?: string; host?: string; role?: string; concurrency?: number; logLevel?: string }) => {
      const env = { ...process.env };
      if (o.role !== undefined) env.BGAGENT_ROLE = o.role;
      if (o.port !== undefined) env.BGAGENT_PORT = o.port;
      if (o.host !== undefined) env.BGAGENT_HOST = o.host;
      if (o.concurrency !== undefined) env.BGAGENT_WORKER_CONCURRENCY = String(o.concurrency);
      if (o.logLevel !== undefined) env.BGAGENT_LOG_LEVEL = o.logLevel;
      const config = loadConfig(env);
      const logger = createLogger({ level: config.logLevel, pretty: process.stdout.isTTY });
      // Loaded on use, so the client commands start fast.
      const { startServer } = await import('../server/serve.js');
      const server = await startServer({ config, logger });
      process.stderr.write(
        `bgagent serving on ${server.url} (role ${config.role}, ${server.store.db.dialect}, data in ${config.dataDir})\n` +
          `admin token: ${server.adminTokenPath}\n`,
      );
      let closing = false;
      const shutdown = (signal: string) => {
        if (closing) return;
        closing = true;
        logger.info({ signal, graceMs: config.shutdownGraceMs }, 'shutting down: no new work; waiting for running agents');
        server
          .close()
          .then(() => process.exit(0))
          .catch((err: unknown) => {
            logger.error({ err }, 'shutdown failed');
            process.exit(1);
          });
      };
      process.on('SIGTERM', () => shutdown('SIGTERM'));
      process.on('SIGINT', () => shutdown('SIGINT'));
    });
}

export function registerMigrateCommand(program: Command): void {
  program
    .command('migrate')
    .description("Apply the database migrations (bgagent's and, on PostgreSQL, graphile-worker's) and exit")
    .action(async () => {
      const config = loadConfig(process.env);
      const logger = createLogger({ level: config.logLevel, pretty: process.stdout.isTTY });
      const { openStore } = await import('../store/index.js');
      const { migrateWorkQueue } = await import('../queue/index.js');
      const store = await openStore({ dataDir: config.dataDir, databaseUrl: config.databaseUrl });
      try {
        await migrateWorkQueue(config.databaseUrl, logger);
      } finally {
        await store.close();
      }
      process.stdout.write(`migrations applied (${store.db.dialect}${config.databaseUrl ? ', graphile-worker' : ''})\n`);
    });
}
