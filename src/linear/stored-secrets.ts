import { isLiteralSecret, moveLiteralIntoDatabase, type DatabaseSecrets, type LocalVault } from '../credentials/index.js';
import type { Logger } from '../log.js';
import type { Store } from '../store/index.js';
import { oauthTokenRef, type OAuthTokenVault } from './oauth/token-vault.js';

export interface StoredSecretsDeps {
  store: Store;
  secrets: DatabaseSecrets;
  oauthVault: OAuthTokenVault;
  /** This machine's file vault, where OAuth token pairs were kept before 0008. */
  fileVault: LocalVault;
  logger: Logger;
}

/**
 * Run at `bgagent serve` start (a migration has no key to encrypt with): every secret a Linear workspace row
 * held as a literal value moves into the database's encrypted secrets, the row keeping a db: reference; an OAuth
 * token pair this machine's file vault still holds moves into the database too. Idempotent, and safe with
 * several processes starting at once (conditional updates; the pair moves under the workspace's token lock).
 */
export async function moveLinearSecretsIntoDatabase(deps: StoredSecretsDeps): Promise<void> {
  const { store, secrets, logger } = deps;
  for (const w of await store.linear.listWorkspaces()) {
    try {
      const columns = [
        // Not the names setup writes: a setup running meanwhile must not have its new value overwritten by the old one.
        ['api_key_ref', w.api_key_ref, 'moved-api-key'],
        ['signing_secret_ref', w.signing_secret_ref, 'moved-signing-secret'],
      ] as const;
      for (const [column, raw, suffix] of columns) {
        if (raw === null || !isLiteralSecret(raw)) continue;
        const ref = await moveLiteralIntoDatabase(secrets, `linear-${w.id}-${suffix}`, raw, (ref) => store.linear.replaceSecretRef(w.id, column, raw, ref));
        if (ref) logger.info({ workspaceId: w.id, column, ref }, 'moved a literal secret of a Linear workspace into the encrypted database secrets');
      }
      if (w.auth_kind === 'oauth') await moveOAuthPair(deps, w.id);
    } catch (err) {
      logger.error({ workspaceId: w.id, reason: (err as Error).message, remedy: (err as { remedy?: string }).remedy }, 'the secrets of a Linear workspace could not be checked or moved into the database; `bgagent doctor` shows what is wrong');
    }
  }
}

async function moveOAuthPair(deps: StoredSecretsDeps, workspaceId: string): Promise<void> {
  await deps.store.linearOAuth.withTokenLock(workspaceId, async (locked) => {
    if (!locked.workspace) return;
    const outcome = await deps.oauthVault.moveFromFileVault(workspaceId, deps.fileVault, locked.secrets);
    if (outcome === 'moved') deps.logger.info({ workspaceId }, "moved a Linear OAuth token pair from this machine's file vault into the database");
    const ref = oauthTokenRef(workspaceId);
    // Another process may have moved the pair; the reference follows it either way.
    if (locked.workspace.api_key_ref !== ref && (await deps.oauthVault.read(workspaceId, locked.secrets))) await locked.setTokenRef(ref);
  });
}
