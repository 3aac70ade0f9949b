import { z } from 'zod';
import { databaseSecretRef, type DatabaseSecrets, type LocalVault, type SealedSecretRows } from '../../credentials/index.js';
import type { OAuthTokens } from './token-endpoint.js';

/**
 * One database secret per OAuth workspace holds its token pair and expiry, as JSON, sealed with the vault key
 * (AES-256-GCM, the secret's name — which holds the workspace id — as associated data). In the database, every
 * process of a scale-out reads and rotates the same pair under the workspace's row lock.
 */

const stored = z.object({ accessToken: z.string().min(1), refreshToken: z.string().min(1), expiresAt: z.number(), scope: z.string() });

export function oauthSecretName(workspaceId: string): string {
  return `linear-oauth-${workspaceId}`;
}

/** The credential reference stored as the workspace's `api_key_ref` (so `doctor` checks the pair decrypts). */
export function oauthTokenRef(workspaceId: string): string {
  return databaseSecretRef(oauthSecretName(workspaceId));
}

export class OAuthTokenVault {
  constructor(private readonly secrets: DatabaseSecrets) {}

  /** Undefined when there is no pair (never installed, or revoked). `rows`: read inside the caller's transaction. */
  async read(workspaceId: string, rows?: SealedSecretRows): Promise<OAuthTokens | undefined> {
    const secret = await this.secrets.get(oauthSecretName(workspaceId), rows);
    if (!secret) return undefined;
    const parsed = stored.safeParse(safeJson(secret.reveal()));
    return parsed.success ? parsed.data : undefined;
  }

  /** Replaces the pair in one row write (inside the caller's transaction when `rows` is given). */
  async write(workspaceId: string, tokens: OAuthTokens, rows?: SealedSecretRows): Promise<void> {
    const value: z.infer<typeof stored> = { accessToken: tokens.accessToken, refreshToken: tokens.refreshToken, expiresAt: tokens.expiresAt, scope: tokens.scope };
    await this.secrets.set(oauthSecretName(workspaceId), JSON.stringify(value), rows);
  }

  async remove(workspaceId: string): Promise<boolean> {
    return this.secrets.remove(oauthSecretName(workspaceId));
  }

  /**
   * Before 0008 the pair lived in the file vault of the machine that handled the install, as `linear-oauth-<id>`.
   * Moves it into the database (unless the database already has one: that one is newer) and deletes the file
   * entry. Call under the workspace's token lock, with its `rows`.
   */
  async moveFromFileVault(workspaceId: string, fileVault: LocalVault, rows: SealedSecretRows): Promise<'moved' | 'kept' | 'none'> {
    const name = oauthSecretName(workspaceId);
    const legacy = await fileVault.get(name);
    if (!legacy) return 'none';
    const inDatabase = await this.read(workspaceId, rows);
    if (!inDatabase) {
      const parsed = stored.safeParse(safeJson(legacy.reveal()));
      if (!parsed.success) return 'none';
      await this.write(workspaceId, parsed.data, rows);
    }
    await fileVault.remove(name);
    return inDatabase ? 'kept' : 'moved';
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
