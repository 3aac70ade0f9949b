import { closeSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { mkdirSync } from 'node:fs';
import { processAlive } from '../credentials/file-lock.js';

export interface ServeLock {
  release(): void;
}

export class ServeLockError extends Error {
  override name = 'ServeLockError';
}

/**
 * On the embedded SQLite database only one `bgagent serve` may run per data dir: its worker treats
 * every lease it does not hold as orphaned. A lock file with the owner's pid enforces that; a lock
 * left by a dead process is taken over.
 */
export function acquireServeLock(dataDir: string): ServeLock {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const path = join(dataDir, 'serve.lock');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, 'wx', 0o600);
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return {
        release() {
          try {
            if (readFileSync(path, 'utf8').trim() === String(process.pid)) rmSync(path);
          } catch {
            // already gone
          }
        },
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const owner = Number(readFileSync(path, 'utf8').trim());
      if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && processAlive(owner)) {
        throw new ServeLockError(
          `another bgagent serve (pid ${owner}) is using ${dataDir}; stop it first, or use PostgreSQL (BGAGENT_DATABASE_URL) to run several`,
        );
      }
      rmSync(path, { force: true });
    }
  }
  throw new ServeLockError(`could not take the serve lock in ${dataDir}`);
}
