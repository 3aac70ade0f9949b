import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';

/** Past this many entries a walk stops and reports what it counted (a lower bound), so a scrape stays cheap. */
const MAX_ENTRIES = 1_000_000;
/** Entries looked at in parallel: enough to keep libuv's threads busy, few enough to leave them to the tasks. */
const BATCH = 64;

/**
 * Bytes allocated on disk under `root`, as `du` counts them. Every entry is lstat'ed, so a symbolic link
 * (the agent can plant one in its workspace) counts as itself and is never followed; entries removed during
 * the walk are skipped, and a missing root counts 0.
 */
export async function diskBytes(root: string, maxEntries = MAX_ENTRIES): Promise<number> {
  let bytes = 0;
  let seen = 0;
  const pending = [root];
  while (pending.length && seen < maxEntries) {
    const batch = pending.splice(-Math.min(BATCH, maxEntries - seen));
    seen += batch.length;
    await Promise.all(
      batch.map(async (path) => {
        const st = await lstat(path).catch(() => undefined);
        if (!st) return;
        bytes += st.blocks * 512;
        if (st.isDirectory()) for (const name of await readdir(path).catch(() => [])) pending.push(join(path, name));
      }),
    );
  }
  return bytes;
}
