import { isIP } from 'node:net';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { z } from 'zod';

const intFromEnv = (def: number) => z.coerce.number().int().positive().default(def);

// proxy-addr's names for address ranges, beside plain addresses and CIDRs.
const PROXY_RANGE_NAMES = new Set(['loopback', 'linklocal', 'uniquelocal']);

function isProxyAddress(s: string): boolean {
  if (PROXY_RANGE_NAMES.has(s)) return true;
  const [address, prefix, extra] = s.split('/');
  const version = isIP(address ?? '');
  if (!version || extra !== undefined) return false;
  return prefix === undefined || (/^\d{1,3}$/.test(prefix) && Number(prefix) <= (version === 4 ? 32 : 128));
}

/** BGAGENT_TRUST_PROXY, in the forms Fastify's trustProxy takes: true/false, a hop count, or addresses and CIDRs. */
const trustProxySchema = z
  .string()
  .trim()
  .transform((s, ctx): boolean | number | string[] => {
    if (s === 'true') return true;
    if (s === 'false' || s === '') return false;
    if (/^\d+$/.test(s)) return Number(s);
    const parts = s.split(',').map((p) => p.trim());
    const bad = parts.filter((p) => !isProxyAddress(p));
    if (bad.length) {
      ctx.addIssue({ code: 'custom', message: `must be true, false, a hop count or comma-separated addresses/CIDRs (loopback, linklocal, uniquelocal also allowed); not ${bad.map((b) => JSON.stringify(b)).join(', ')}` });
      return z.NEVER;
    }
    return parts;
  });

/**
 * BGAGENT_GIT_CREDENTIAL_REFS: the server secrets a repository's git credential may name, as references or
 * prefixes ending in `*`. Never db: (a repository's own db: secret needs no entry; any other is bgagent's).
 */
const gitCredentialRefsSchema = z
  .string()
  .transform((s, ctx): string[] => {
    const entries = s.split(',').map((p) => p.trim()).filter(Boolean);
    const bad = entries.filter((p) => !/^(env|vault|aws-secrets-manager|agentcore|agentcore-oauth):[^\s*]*\*?$/.test(p));
    if (bad.length) {
      ctx.addIssue({ code: 'custom', message: `must be comma-separated env:, vault:, aws-secrets-manager: or agentcore references, or prefixes of them ending in * (not db:); not ${bad.map((b) => JSON.stringify(b)).join(', ')}` });
      return z.NEVER;
    }
    return entries;
  });

/**
 * Every configuration variable bgagent reads, validated in one place.
 * Secret-holding variables hold credential references (see src/credentials), never resolved values.
 */
const envSchema = z.object({
  BGAGENT_DATA_DIR: z.string().min(1).optional(),
  BGAGENT_DATABASE_URL: z.string().min(1).optional(),
  BGAGENT_HOST: z.string().min(1).default('127.0.0.1'),
  BGAGENT_PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  BGAGENT_PUBLIC_URL: z.string().url().optional(),
  BGAGENT_TRUST_PROXY: trustProxySchema.default(false),
  BGAGENT_MAX_STREAMS_PER_USER: intFromEnv(20),
  BGAGENT_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  BGAGENT_MAX_CONCURRENT_PER_USER: intFromEnv(3),
  BGAGENT_MAX_QUEUED_PER_USER: intFromEnv(100),
  BGAGENT_MAX_OUTPUT_EVENTS_PER_TASK: intFromEnv(5000),
  BGAGENT_RETENTION_DAYS: z.union([z.literal('off'), z.coerce.number().int().positive('must be at least 1 (days), or off to keep everything')], { error: 'must be a whole number of days, or off' }).default(30),
  BGAGENT_TASK_TIMEOUT_SECONDS: intFromEnv(2 * 60 * 60),
  BGAGENT_QUEUE_MAX_AGE_SECONDS: intFromEnv(24 * 60 * 60),
  BGAGENT_INPUT_TIMEOUT_SECONDS: intFromEnv(24 * 60 * 60),
  BGAGENT_LEASE_SECONDS: intFromEnv(30),
  BGAGENT_WORKER_CONCURRENCY: intFromEnv(4),
  BGAGENT_ROLE: z.enum(['api', 'worker', 'all']).default('all'),
  BGAGENT_SHUTDOWN_GRACE_SECONDS: z.coerce.number().int().min(0).default(30),
  BGAGENT_CREDENTIAL_CACHE_TTL_SECONDS: intFromEnv(300),
  BGAGENT_VAULT_KEY: z.string().min(1).optional(),
  BGAGENT_AGENTCORE_WORKLOAD_NAME: z.string().min(1).optional(),
  BGAGENT_MODEL: z.string().min(1).default('claude-sonnet-4-5'),
  BGAGENT_SANDBOX: z.enum(['bwrap', 'none']).optional(),
  BGAGENT_METRICS_TOKEN: z.string().min(1).optional(),
  BGAGENT_GIT_CREDENTIAL_REFS: gitCredentialRefsSchema.default([]),
  LINEAR_API_URL: z.string().url().default('https://api.linear.app/graphql'),
  LINEAR_API_KEY: z.string().min(1).default('vault:linear-api-key'),
  LINEAR_API_KEY_PROVIDER_NAME: z.string().min(1).default('linear-api-key'),
  LINEAR_WEBHOOK_SECRET: z.string().min(1).optional(),
  LINEAR_OAUTH_CLIENT_ID: z.string().min(1).optional(),
  LINEAR_OAUTH_CLIENT_SECRET: z.string().min(1).optional(),
  LINEAR_OAUTH_AUTHORIZE_URL: z.string().url().default('https://linear.app/oauth/authorize'),
  LINEAR_OAUTH_TOKEN_URL: z.string().url().default('https://api.linear.app/oauth/token'),
  GITHUB_API_URL: z.string().url().default('https://api.github.com'),
  GITHUB_TOKEN: z.string().min(1).optional(),
  GITHUB_APP_ID: z.string().regex(/^\d+$/, 'must be the numeric app id').optional(),
  GITHUB_APP_PRIVATE_KEY: z.string().min(1).optional(),
  ANTHROPIC_API_KEY: z.string().min(1).optional(),
  ANTHROPIC_BASE_URL: z.string().url().optional(),
  AWS_REGION: z.string().min(1).optional(),
  AWS_DEFAULT_REGION: z.string().min(1).optional(),
});

export interface Config {
  dataDir: string;
  /** postgres://… when set; otherwise the embedded SQLite file in dataDir. */
  databaseUrl: string | undefined;
  host: string;
  port: number;
  publicUrl: string | undefined;
  /** Whose X-Forwarded-Proto/For/Host to believe: nobody's (false), any (true), the nearest n hops, or these addresses/CIDRs. */
  trustProxy: boolean | number | string[];
  /** Open event streams per user in one process; one more is refused with 429. */
  maxStreamsPerUser: number;
  logLevel: z.infer<typeof envSchema>['BGAGENT_LOG_LEVEL'];
  maxConcurrentPerUser: number;
  /** A user with this many tasks waiting to start (SUBMITTED, QUEUED) cannot create another. */
  maxQueuedPerUser: number;
  /** Agent events stored per task; the rest are counted in one summary event per run. */
  maxOutputEventsPerTask: number;
  /** Events, conversations and inputs of tasks ended longer ago than this are deleted; undefined: kept forever. */
  retentionMs: number | undefined;
  taskTimeoutMs: number;
  queueMaxAgeMs: number;
  /** How long a task waits for the answer to its agent's question before it fails. */
  inputTimeoutMs: number;
  leaseMs: number;
  workerConcurrency: number;
  /** What `bgagent serve` runs: the HTTP API, the worker (orchestrator + Linear deliveries), or both. */
  role: 'api' | 'worker' | 'all';
  /** On SIGTERM, how long running agents may finish before they are stopped and their leases released. */
  shutdownGraceMs: number;
  credentialCacheTtlMs: number;
  vaultKey: string | undefined;
  agentcoreWorkloadName: string | undefined;
  awsRegion: string | undefined;
  model: string;
  sandbox: 'bwrap' | 'none' | undefined;
  /** /metrics access: undefined = public, 'off' = not served, else a credential reference for the scrape token. */
  metricsTokenRef: string | undefined;
  /** The server secrets (references, or prefixes ending in *) a repository's git credential may name besides its own db: secret. */
  gitCredentialRefs: string[];
  linear: { apiUrl: string; apiKeyRef: string; apiKeyProviderName: string; webhookSecretRef: string | undefined; oauth: LinearOAuthConfig };
  github: { apiUrl: string; tokenRef: string | undefined; appId: string | undefined; appPrivateKeyRef: string | undefined };
  anthropic: { apiKeyRef: string | undefined; baseUrl: string | undefined };
}

/** The Linear OAuth app bgagent installs as (`bgagent linear install`); the secret is a credential reference. */
export interface LinearOAuthConfig {
  clientId: string | undefined;
  clientSecretRef: string | undefined;
  authorizeUrl: string;
  tokenUrl: string;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`invalid configuration:\n  ${lines.join('\n  ')}`);
  }
  const e = parsed.data;
  if (e.BGAGENT_DATABASE_URL && !/^postgres(ql)?:\/\//.test(e.BGAGENT_DATABASE_URL)) {
    throw new ConfigError('invalid configuration:\n  BGAGENT_DATABASE_URL: must be a postgres:// URL');
  }
  if (!e.BGAGENT_DATABASE_URL && e.BGAGENT_ROLE !== 'all') {
    throw new ConfigError(
      `invalid configuration:\n  BGAGENT_ROLE: "${e.BGAGENT_ROLE}" needs PostgreSQL (BGAGENT_DATABASE_URL); with the embedded SQLite database one process does everything, so only "all" is possible`,
    );
  }
  return {
    dataDir: resolve(e.BGAGENT_DATA_DIR ?? join(homedir(), '.bgagent')),
    databaseUrl: e.BGAGENT_DATABASE_URL,
    host: e.BGAGENT_HOST,
    port: e.BGAGENT_PORT,
    publicUrl: e.BGAGENT_PUBLIC_URL,
    trustProxy: e.BGAGENT_TRUST_PROXY,
    maxStreamsPerUser: e.BGAGENT_MAX_STREAMS_PER_USER,
    logLevel: e.BGAGENT_LOG_LEVEL,
    maxConcurrentPerUser: e.BGAGENT_MAX_CONCURRENT_PER_USER,
    maxQueuedPerUser: e.BGAGENT_MAX_QUEUED_PER_USER,
    maxOutputEventsPerTask: e.BGAGENT_MAX_OUTPUT_EVENTS_PER_TASK,
    retentionMs: e.BGAGENT_RETENTION_DAYS === 'off' ? undefined : e.BGAGENT_RETENTION_DAYS * 24 * 60 * 60 * 1000,
    taskTimeoutMs: e.BGAGENT_TASK_TIMEOUT_SECONDS * 1000,
    queueMaxAgeMs: e.BGAGENT_QUEUE_MAX_AGE_SECONDS * 1000,
    inputTimeoutMs: e.BGAGENT_INPUT_TIMEOUT_SECONDS * 1000,
    leaseMs: e.BGAGENT_LEASE_SECONDS * 1000,
    workerConcurrency: e.BGAGENT_WORKER_CONCURRENCY,
    role: e.BGAGENT_ROLE,
    shutdownGraceMs: e.BGAGENT_SHUTDOWN_GRACE_SECONDS * 1000,
    credentialCacheTtlMs: e.BGAGENT_CREDENTIAL_CACHE_TTL_SECONDS * 1000,
    vaultKey: e.BGAGENT_VAULT_KEY,
    agentcoreWorkloadName: e.BGAGENT_AGENTCORE_WORKLOAD_NAME,
    awsRegion: e.AWS_REGION ?? e.AWS_DEFAULT_REGION,
    model: e.BGAGENT_MODEL,
    sandbox: e.BGAGENT_SANDBOX,
    metricsTokenRef: e.BGAGENT_METRICS_TOKEN,
    gitCredentialRefs: e.BGAGENT_GIT_CREDENTIAL_REFS,
    linear: {
      apiUrl: e.LINEAR_API_URL,
      // `agentcore` alone names the AgentCore provider by LINEAR_API_KEY_PROVIDER_NAME (default linear-api-key).
      apiKeyRef: /^agentcore(-oauth)?:?$/.test(e.LINEAR_API_KEY) ? `${e.LINEAR_API_KEY.replace(/:$/, '')}:${e.LINEAR_API_KEY_PROVIDER_NAME}` : e.LINEAR_API_KEY,
      apiKeyProviderName: e.LINEAR_API_KEY_PROVIDER_NAME,
      webhookSecretRef: e.LINEAR_WEBHOOK_SECRET,
      oauth: {
        clientId: e.LINEAR_OAUTH_CLIENT_ID,
        clientSecretRef: e.LINEAR_OAUTH_CLIENT_SECRET,
        authorizeUrl: e.LINEAR_OAUTH_AUTHORIZE_URL,
        tokenUrl: e.LINEAR_OAUTH_TOKEN_URL,
      },
    },
    github: { apiUrl: e.GITHUB_API_URL, tokenRef: e.GITHUB_TOKEN, appId: e.GITHUB_APP_ID, appPrivateKeyRef: e.GITHUB_APP_PRIVATE_KEY },
    anthropic: { apiKeyRef: e.ANTHROPIC_API_KEY, baseUrl: e.ANTHROPIC_BASE_URL },
  };
}

/**
 * bgagent's own secrets, as credential references: the variables its configuration reads (and the AWS SDK's
 * credentials), and the references those variables hold. A reference given for something else (a repository's
 * git credential) must name none of them: git would send the secret to the host the caller chose.
 */
export function ownSecretReferences(config: Config): string[] {
  const variables = [...Object.keys(envSchema.shape), 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN'];
  const held = [config.vaultKey, config.metricsTokenRef, config.linear.apiKeyRef, config.linear.webhookSecretRef, config.linear.oauth.clientSecretRef, config.github.tokenRef, config.github.appPrivateKeyRef, config.anthropic.apiKeyRef];
  return [...variables.map((v) => `env:${v}`), ...held.filter((r): r is string => r !== undefined)];
}
