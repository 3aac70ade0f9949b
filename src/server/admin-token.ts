import { existsSync, readFileSync, writeFileSync, chmodSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Store } from '../store/index.js';

export function adminTokenPath(dataDir: string): string {
  return join(dataDir, 'admin-token');
}

/**
 * Makes sure the data dir holds a working admin token (mode 0600), creating the admin user and the
 * token on first start. Returns whether a new token was written.
 */
export async function ensureAdminToken(store: Store, dataDir: string): Promise<{ created: boolean; path: string }> {
  const path = adminTokenPath(dataDir);
  if (existsSync(path)) {
    const token = readFileSync(path, 'utf8').trim();
    const user = token ? await store.users.authenticate(token) : undefined;
    if (user?.isAdmin) return { created: false, path };
  }
  const admin = await store.users.ensure('admin', { isAdmin: true });
  const { token } = await store.users.createToken(admin.id, 'admin (data dir)');
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  writeFileSync(path, `${token}\n`, { mode: 0o600 });
  chmodSync(path, 0o600);
  return { created: true, path };
}
