import type { Config } from '../config/config.js';
import { silentLogger, type Logger } from '../log.js';
import type { SealedSecretRows } from './database-secrets.js';
import { CredentialResolver } from './resolver.js';

export { CredentialResolver, type CredentialResolverOptions, type CredentialStatus, type CredentialCheckStatus } from './resolver.js';
export { CredentialError, type CredentialErrorKind } from './errors.js';
export { Secret } from './secret.js';
export { parseCredentialReference, displayReference, LITERAL_DISPLAY, type CredentialReference, type ReferenceKind } from './reference.js';
export { DatabaseSecrets, DatabaseSecretError, databaseSecretRef, type SealedSecretRows } from './database-secrets.js';
export { literalValueOf, isLiteralSecret, keepInDatabase, moveLiteralIntoDatabase } from './literal-secrets.js';
export { LocalVault, VaultError, VAULT_ENTRY_TYPES, type VaultEntryType, type VaultEntryInfo } from './vault.js';
export {
  runWithWorkloadAccessToken,
  workloadAccessTokenFromHeaders,
  runtimeWorkloadAccessToken,
  WORKLOAD_ACCESS_TOKEN_HEADER,
  type WorkloadTokenSource,
} from './agentcore-context.js';

/** The application's one resolver, from the loaded configuration. */
export function createCredentialResolver(config: Config, logger: Logger = silentLogger, secretRows?: SealedSecretRows): CredentialResolver {
  return new CredentialResolver({
    dataDir: config.dataDir,
    vaultKey: config.vaultKey,
    secretRows,
    ttlMs: config.credentialCacheTtlMs,
    awsRegion: config.awsRegion,
    agentcoreWorkloadName: config.agentcoreWorkloadName,
    logger: logger.child({ component: 'credentials' }),
  });
}
