import { z } from 'zod';
import type { LocalVault } from '../../credentials/index.js';
import type { OAuthTokens } from './token-endpoint.js';

/** One vault entry per OAuth workspace holds its token pair and expiry, as JSON. */

const stored = z.object({ accessToken: z.string().min(1), refreshToken: z.string().min(1), expiresAt: z.number(), scope: z.string() });

export function oauthVaultEntry(workspaceId: string): string {
  return `linear-oauth-${workspaceId}`;
}

/** The credential reference stored as the workspace's `api_key_ref` (so `doctor` checks the entry exists). */
export function oauthTokenRef(workspaceId: string): string {
  return `vault:${oauthVaultEntry(workspaceId)}`;
}

export class OAuthTokenVault {
  constructor(private readonly vault: LocalVault) {}

  /** Undefined when there is no entry (never installed, or revoked). */
  async read(workspaceId: string): Promise<OAuthTokens | undefined> {
    const secret = await this.vault.get(oauthVaultEntry(workspaceId));
    if (!secret) return undefined;
    const parsed = stored.safeParse(safeJson(secret.reveal()));
    return parsed.success ? parsed.data : undefined;
  }

  /** Replaces the pair in one atomic file write (the vault writes a temp file and renames it under its lock). */
  async write(workspaceId: string, tokens: OAuthTokens): Promise<void> {
    const value: z.infer<typeof stored> = { accessToken: tokens.accessToken, refreshToken: tokens.refreshToken, expiresAt: tokens.expiresAt, scope: tokens.scope };
    await this.vault.set(oauthVaultEntry(workspaceId), 'oauth-token', JSON.stringify(value));
  }

  async remove(workspaceId: string): Promise<boolean> {
    return this.vault.remove(oauthVaultEntry(workspaceId));
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
