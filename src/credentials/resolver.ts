import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { silentLogger, type Logger } from '../log.js';
import type { WorkloadTokenSource } from './agentcore-context.js';
import { CredentialError } from './errors.js';
import { AgentCoreCredentialProvider } from './providers/agentcore.js';
import { SecretsManagerCredentialProvider } from './providers/aws-secrets-manager.js';
import { EnvCredentialProvider } from './providers/env.js';
import type { AwsProviderOptions, CredentialProvider } from './providers/provider.js';
import { VaultCredentialProvider } from './providers/vault.js';
import { DatabaseCredentialProvider } from './providers/database.js';
import { DatabaseSecrets, type SealedSecretRows } from './database-secrets.js';
import { SecretSealer } from './sealed.js';
import { parseCredentialReference, type CredentialReference, type ReferenceKind } from './reference.js';
import { Secret } from './secret.js';
import { LocalVault } from './vault.js';

export interface CredentialResolverOptions {
  dataDir: string;
  /** BGAGENT_VAULT_KEY: a credential reference (env:, aws-secrets-manager:, …) or the key or passphrase itself. */
  vaultKey?: string;
  /** The database's encrypted secrets: `db:` references resolve only with them. */
  secretRows?: SealedSecretRows;
  /** Cache lifetime of a resolved value (default 300 000 ms). */
  ttlMs?: number;
  awsRegion?: string;
  agentcoreWorkloadName?: string;
  /** Overrides the AWS endpoint (tests: a local stub). */
  awsEndpoint?: string;
  awsCredentials?: AwsProviderOptions['credentials'];
  /** Runtime-supplied AgentCore workload access token (default: the current AgentCore Runtime request). */
  workloadAccessToken?: WorkloadTokenSource;
  /** Environment for env: references (default process.env). */
  env?: NodeJS.ProcessEnv;
  logger?: Logger;
  /** Replaces the provider for a kind (tests). */
  providers?: Partial<Record<Exclude<ReferenceKind, 'literal'>, CredentialProvider>>;
  now?: () => number;
  /** Transient failures: total attempts (default 3) and first backoff (default 200 ms, doubling). */
  retry?: { attempts?: number; baseDelayMs?: number };
}

export type CredentialCheckStatus = 'ok' | 'error' | 'warn' | 'unavailable';

/** What `bgagent doctor` shows for one reference. Never holds the value. */
export interface CredentialStatus {
  ref: string;
  status: CredentialCheckStatus;
  message: string;
  remedy?: string;
}

interface CacheEntry {
  secret: Secret;
  expiresAt: number;
}

/**
 * Resolves credential references to Secrets: a TTL cache per reference, one shared fetch for concurrent
 * callers, retries with backoff for transient failures. Logs name references, never values.
 */
export class CredentialResolver {
  private readonly cache = new Map<string, CacheEntry>();
  private readonly inflight = new Map<string, Promise<Secret>>();
  /** References whose persistent/unavailable failure was already logged (so each is logged once). */
  private readonly reported = new Set<string>();
  private readonly warnedLiterals = new Set<string>();
  private readonly providers: Record<Exclude<ReferenceKind, 'literal'>, CredentialProvider>;
  private readonly ttlMs: number;
  private readonly log: Logger;
  private readonly now: () => number;
  private readonly attempts: number;
  private readonly baseDelayMs: number;
  /** The local vault, its key resolved through this resolver. */
  readonly vault: LocalVault;
  /** Secrets in the database, sealed with the vault's key; undefined without a database. */
  readonly databaseSecrets: DatabaseSecrets | undefined;

  constructor(opts: CredentialResolverOptions) {
    this.ttlMs = opts.ttlMs ?? 300_000;
    this.log = opts.logger ?? silentLogger;
    this.now = opts.now ?? Date.now;
    this.attempts = Math.max(1, opts.retry?.attempts ?? 3);
    this.baseDelayMs = opts.retry?.baseDelayMs ?? 200;
    const vaultKey = opts.vaultKey;
    this.vault = new LocalVault({ dataDir: opts.dataDir, key: vaultKey === undefined ? undefined : () => this.resolveVaultKey(vaultKey) });
    this.databaseSecrets = opts.secretRows ? new DatabaseSecrets(opts.secretRows, new SecretSealer(() => this.vault.keyMaterial())) : undefined;
    const aws = { region: opts.awsRegion, endpoint: opts.awsEndpoint, credentials: opts.awsCredentials };
    const agentcore = opts.providers?.agentcore ?? opts.providers?.['agentcore-oauth'] ?? new AgentCoreCredentialProvider({ ...aws, workloadName: opts.agentcoreWorkloadName, workloadToken: opts.workloadAccessToken });
    this.providers = {
      env: opts.providers?.env ?? new EnvCredentialProvider(opts.env),
      vault: opts.providers?.vault ?? new VaultCredentialProvider(this.vault),
      db: opts.providers?.db ?? new DatabaseCredentialProvider(this.databaseSecrets),
      'aws-secrets-manager': opts.providers?.['aws-secrets-manager'] ?? new SecretsManagerCredentialProvider(aws),
      agentcore: opts.providers?.agentcore ?? agentcore,
      'agentcore-oauth': opts.providers?.['agentcore-oauth'] ?? agentcore,
    };
  }

  /** Resolves a reference; throws CredentialError. */
  async resolve(raw: string): Promise<Secret> {
    const ref = parseCredentialReference(raw);
    if (ref.kind === 'literal') {
      this.warnLiteral(ref.value);
      return new Secret(ref.value);
    }
    const hit = this.cache.get(raw);
    if (hit && hit.expiresAt > this.now()) return hit.secret;
    let pending = this.inflight.get(raw);
    if (!pending) {
      pending = this.fetch(raw, ref).finally(() => this.inflight.delete(raw));
      this.inflight.set(raw, pending);
    }
    return pending;
  }

  /**
   * BGAGENT_VAULT_KEY's value. A reference is resolved (not through the vault or the database: they need this
   * key to open); anything else is the key or passphrase itself, as it always was.
   */
  private async resolveVaultKey(raw: string): Promise<string> {
    const ref = parseCredentialReference(raw);
    if (ref.kind === 'literal') return ref.value;
    if (ref.kind === 'vault' || ref.kind === 'db') {
      throw new CredentialError('persistent', ref.display, 'BGAGENT_VAULT_KEY cannot name a vault: or db: secret (they are encrypted with it)', 'use env:, aws-secrets-manager: or agentcore:, or the key itself');
    }
    return (await this.resolve(raw)).reveal();
  }

  /** Drops the cached value, e.g. after the consumer got an authentication failure with it. */
  invalidate(raw: string): void {
    this.cache.delete(raw);
  }

  /** Resolves and reports the outcome for `bgagent doctor` / `credentials test`. */
  async check(raw: string): Promise<CredentialStatus> {
    let ref: CredentialReference;
    try {
      ref = parseCredentialReference(raw);
    } catch (err) {
      const e = err as CredentialError;
      return { ref: e.ref, status: 'error', message: e.message, ...(e.remedy ? { remedy: e.remedy } : {}) };
    }
    if (ref.kind === 'literal') {
      return {
        ref: ref.display,
        status: 'warn',
        message: 'a literal secret in the configuration, not a credential reference',
        remedy: 'store it with `bgagent credentials add NAME --type api-key` and set the variable to vault:NAME',
      };
    }
    try {
      await this.resolve(raw);
      return { ref: ref.display, status: 'ok', message: 'resolves' };
    } catch (err) {
      if (!(err instanceof CredentialError)) return { ref: ref.display, status: 'error', message: 'unexpected error while resolving' };
      const status: CredentialCheckStatus = err.kind === 'persistent' ? 'error' : err.kind === 'transient' ? 'warn' : 'unavailable';
      return { ref: ref.display, status, message: err.message, ...(err.remedy ? { remedy: err.remedy } : {}) };
    }
  }

  private async fetch(raw: string, ref: Exclude<CredentialReference, { kind: 'literal' }>): Promise<Secret> {
    const provider = this.providers[ref.kind];
    for (let attempt = 1; ; attempt++) {
      try {
        const value = await provider.fetch(ref);
        const secret = new Secret(value);
        this.cache.set(raw, { secret, expiresAt: this.now() + this.ttlMs });
        if (this.reported.delete(raw)) this.log.info({ ref: ref.display }, 'credential resolves again');
        return secret;
      } catch (caught) {
        const err = caught instanceof CredentialError ? caught : new CredentialError('transient', ref.display, `unexpected error (${(caught as Error)?.name ?? 'Error'})`);
        const fields = { ref: ref.display, kind: err.kind, code: err.code, remedy: err.remedy };
        if (err.kind === 'transient' && attempt < this.attempts) {
          const delayMs = this.baseDelayMs * 2 ** (attempt - 1);
          this.log.warn({ ...fields, attempt, delayMs }, `credential fetch failed, retrying: ${err.message}`);
          await sleep(delayMs);
          continue;
        }
        if (err.kind === 'transient') {
          this.log.warn({ ...fields, attempt }, `credential fetch failed: ${err.message}`);
        } else if (!this.reported.has(raw)) {
          this.reported.add(raw);
          if (err.kind === 'persistent') this.log.error(fields, `credential cannot be resolved: ${err.message}`);
          else this.log.warn(fields, `credential source unavailable: ${err.message}`);
        }
        throw err;
      }
    }
  }

  private warnLiteral(value: string): void {
    const id = createHash('sha256').update(value).digest('hex');
    if (this.warnedLiterals.has(id)) return;
    this.warnedLiterals.add(id);
    this.log.warn('a configuration variable holds a literal secret: store it with `bgagent credentials add` and use vault:NAME (or another credential reference)');
  }
}
