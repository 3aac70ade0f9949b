import { open, readFile, rename, stat, unlink } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';

export interface FileLockOptions {
  /** Give up after this long (default 10 s). */
  timeoutMs?: number;
  /** A lock older than this whose owner we cannot see alive is taken over (default 30 s). */
  staleMs?: number;
}

export class FileLockTimeoutError extends Error {
  override name = 'FileLockTimeoutError';
}

/** Whether a process with this pid exists (EPERM: it exists but belongs to someone else). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function isStale(path: string, staleMs: number): Promise<boolean> {
  try {
    const [content, st] = await Promise.all([readFile(path, 'utf8'), stat(path)]);
    const pid = Number.parseInt(content.split(' ')[0] ?? '', 10);
    if (Number.isInteger(pid) && pid > 0 && !processAlive(pid)) return true;
    return Date.now() - st.mtimeMs > staleMs;
  } catch {
    return false; // gone already, or being written: try again
  }
}

/**
 * Runs `fn` holding an exclusive lock file (created with O_EXCL), across instances and processes.
 * A lock left by a dead process, or older than staleMs, is moved aside (rename is atomic, so only one
 * waiter takes it over) and removed.
 */
export async function withFileLock<T>(path: string, fn: () => Promise<T>, opts: FileLockOptions = {}): Promise<T> {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const staleMs = opts.staleMs ?? 30_000;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const handle = await open(path, 'wx', 0o600);
      try {
        await handle.writeFile(`${process.pid} ${Date.now()}`);
      } finally {
        await handle.close();
      }
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    if (await isStale(path, staleMs)) {
      const aside = `${path}.stale-${randomBytes(4).toString('hex')}`;
      try {
        await rename(path, aside);
        await unlink(aside);
      } catch {
        // someone else took it over first
      }
      continue;
    }
    if (Date.now() > deadline) throw new FileLockTimeoutError(`could not lock ${path} within ${timeoutMs} ms`);
    await sleep(5 + Math.random() * 20);
  }
  try {
    return await fn();
  } finally {
    await unlink(path).catch(() => undefined);
  }
}
