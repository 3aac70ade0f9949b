import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { withFileLock } from '../../src/credentials/file-lock.js';

const DEAD_PID = '2147483646'; // no such process

let dir: string;
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** Runs `waiters` holders of one lock at once and returns the most that were ever inside together. */
async function mostInsideAtOnce(lock: string, waiters: number, opts?: { staleMs?: number }): Promise<number> {
  let inside = 0;
  let most = 0;
  const holder = () =>
    withFileLock(
      lock,
      async () => {
        inside++;
        most = Math.max(most, inside);
        await new Promise((r) => setTimeout(r, 15));
        inside--;
      },
      { timeoutMs: 20_000, ...opts },
    );
  await Promise.all(Array.from({ length: waiters }, holder));
  return most;
}

describe('withFileLock', () => {
  it('lets one holder at a time take over a lock left by a dead process, however many waiters saw it stale', async () => {
    dir = mkdtempSync(join(tmpdir(), 'bgagent-lock-'));
    const lock = join(dir, 'x.lock');
    for (let round = 0; round < 20; round++) {
      writeFileSync(lock, `${DEAD_PID} 0`);
      expect(await mostInsideAtOnce(lock, 8)).toBe(1);
      expect(existsSync(lock)).toBe(false);
    }
  });

  it('keeps a long holder\'s lock fresh, so waiters never take it over as stale while it works', async () => {
    dir = mkdtempSync(join(tmpdir(), 'bgagent-lock-'));
    const lock = join(dir, 'y.lock');
    let inside = 0;
    let most = 0;
    const holder = (ms: number) =>
      withFileLock(
        lock,
        async () => {
          inside++;
          most = Math.max(most, inside);
          await new Promise((r) => setTimeout(r, ms));
          inside--;
        },
        { staleMs: 200, timeoutMs: 20_000 },
      );
    // The first holds the lock for several stale periods; the others wait for it rather than take it over.
    await Promise.all([holder(1000), new Promise((r) => setTimeout(r, 50)).then(() => Promise.all([holder(10), holder(10)]))]);
    expect(most).toBe(1);
  });
});
