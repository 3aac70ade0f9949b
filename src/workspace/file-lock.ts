import { open, readFile, rm, stat } from 'node:fs/promises';

export interface FileLockOptions {
  /** Give up after this long (default 10 minutes: a slow first clone holds the lock). */
  timeoutMs?: number;
  /** A lock file older than this whose owner cannot be checked is taken over (default 30 minutes). */
  staleMs?: number;
}

/**
 * Runs `fn` while holding an exclusive lock file (created with O_EXCL), so processes on this machine
 * sharing one data dir never run it at once. A lock left by a dead process is taken over.
 */
export async function withFileLock<T>(path: string, fn: () => Promise<T>, opts: FileLockOptions = {}): Promise<T> {
  const deadline = Date.now() + (opts.timeoutMs ?? 10 * 60_000);
  const staleMs = opts.staleMs ?? 30 * 60_000;
  let delay = 10;
  for (;;) {
    try {
      const handle = await open(path, 'wx');
      await handle.writeFile(`${process.pid}\n`);
      await handle.close();
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      if (await isStale(path, staleMs)) {
        await rm(path, { force: true });
        continue;
      }
      if (Date.now() > deadline) throw new Error(`timed out waiting for the lock ${path}`);
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 500);
    }
  }
  try {
    return await fn();
  } finally {
    await rm(path, { force: true });
  }
}

async function isStale(path: string, staleMs: number): Promise<boolean> {
  try {
    const pid = Number.parseInt(await readFile(path, 'utf8'), 10);
    if (pid > 0 && pid !== process.pid) {
      try {
        process.kill(pid, 0);
        return false;
      } catch (err) {
        return (err as NodeJS.ErrnoException).code === 'ESRCH';
      }
    }
    return Date.now() - (await stat(path)).mtimeMs > staleMs;
  } catch {
    return false; // the lock just went away, or is being written: try again
  }
}
