import { open, readFile, rename, stat, unlink, utimes, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';

export interface FileLockOptions {
  /** Give up after this long (default 10 s). */
  timeoutMs?: number;
  /**
   * A lock whose owner is dead, or that was not refreshed for this long, is taken over (default 30 s). The
   * holder refreshes its lock's mtime every third of this, so a long holder is never taken for stale.
   */
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

/** The lock's content when it is stale, else undefined. */
async function staleContent(path: string, staleMs: number): Promise<string | undefined> {
  try {
    const [content, st] = await Promise.all([readFile(path, 'utf8'), stat(path)]);
    const pid = Number.parseInt(content.split(' ')[0] ?? '', 10);
    const dead = Number.isInteger(pid) && pid > 0 && !processAlive(pid);
    return dead || Date.now() - st.mtimeMs > staleMs ? content : undefined;
  } catch {
    return undefined; // gone already, or being written: try again
  }
}

// The takeover mutex is held for a few file operations; one older than this was left by a crash. Removing it is
// not atomic with the check (two waiters could both remove one and then hold two), so that needs a crash while
// it was held and a race after: rare enough for locks that guard a vault file and a mirror fetch.
const MUTEX_STALE_MS = 5_000;

/**
 * Runs `fn` under `<path>.takeover`, a short mutex for the two changes to a lock other than creating it:
 * replacing a stale one and removing one's own. Both compare the content before they change it, and no
 * one else changes the file meanwhile, so a waiter never replaces a lock another waiter just took over.
 */
async function underTakeoverMutex<T>(path: string, fn: () => Promise<T>): Promise<T> {
  const mutex = `${path}.takeover`;
  for (;;) {
    try {
      await (await open(mutex, 'wx', 0o600)).close();
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const st = await stat(mutex).catch(() => undefined);
      if (st && Date.now() - st.mtimeMs > MUTEX_STALE_MS) await unlink(mutex).catch(() => undefined);
      await sleep(1 + Math.random() * 4);
    }
  }
  try {
    return await fn();
  } finally {
    await unlink(mutex).catch(() => undefined);
  }
}

/** Replaces the lock with ours if it still holds `stale`; the lock file exists throughout, so no one creates one meanwhile. */
function takeOver(path: string, stale: string, content: string): Promise<boolean> {
  return underTakeoverMutex(path, async () => {
    if ((await readFile(path, 'utf8').catch(() => undefined)) !== stale) return false;
    const temp = `${path}.${randomBytes(4).toString('hex')}`;
    await writeFile(temp, content, { mode: 0o600 });
    await rename(temp, path);
    return true;
  });
}

/**
 * Runs `fn` holding an exclusive lock file (created with O_EXCL), across instances and processes on this
 * machine. The file holds the owner's pid and a random nonce; a lock left by a dead process, or not refreshed
 * within staleMs, is taken over by one waiter. (No library we know of takes a stale lock over atomically:
 * proper-lockfile removes and recreates it, which lets two waiters in.)
 */
export async function withFileLock<T>(path: string, fn: () => Promise<T>, opts: FileLockOptions = {}): Promise<T> {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const staleMs = opts.staleMs ?? 30_000;
  const deadline = Date.now() + timeoutMs;
  const content = `${process.pid} ${randomBytes(8).toString('hex')}`;
  for (;;) {
    try {
      const handle = await open(path, 'wx', 0o600);
      try {
        await handle.writeFile(content);
      } finally {
        await handle.close();
      }
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const stale = await staleContent(path, staleMs);
    if (stale !== undefined && (await takeOver(path, stale, content))) break;
    if (Date.now() > deadline) throw new FileLockTimeoutError(`could not lock ${path} within ${timeoutMs} ms`);
    await sleep(5 + Math.random() * 20);
  }
  const heartbeat = setInterval(() => {
    const now = new Date();
    utimes(path, now, now).catch(() => undefined);
  }, Math.max(1, Math.floor(staleMs / 3)));
  heartbeat.unref();
  try {
    return await fn();
  } finally {
    clearInterval(heartbeat);
    // Only our own lock: a holder that hung past staleMs was taken over, and the file is another's now.
    await underTakeoverMutex(path, async () => {
      if ((await readFile(path, 'utf8').catch(() => undefined)) === content) await unlink(path);
    });
  }
}
