import { mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { diskBytes } from '../../src/workspace/disk-usage.js';
import { tempDir } from '../support/databases.js';

describe('diskBytes', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('counts what is under a directory, never what a link points to, and 0 for a missing one', async () => {
    const root = tempDir();
    const elsewhere = tempDir();
    dirs.push(root, elsewhere);
    writeFileSync(join(elsewhere, 'big'), Buffer.alloc(4_000_000, 1));
    mkdirSync(join(root, 'a', 'b'), { recursive: true });
    writeFileSync(join(root, 'a', 'b', 'file'), Buffer.alloc(200_000, 1));
    symlinkSync(join(elsewhere, 'big'), join(root, 'a', 'link-to-file'));
    symlinkSync(elsewhere, join(root, 'link-to-dir'));

    const bytes = await diskBytes(root);
    expect(bytes).toBeGreaterThanOrEqual(200_000);
    expect(bytes).toBeLessThan(1_000_000);
    expect(await diskBytes(join(root, 'missing'))).toBe(0);
  });

  it('stops after the given number of entries', async () => {
    const root = tempDir();
    dirs.push(root);
    for (let i = 0; i < 10; i++) writeFileSync(join(root, `f${i}`), Buffer.alloc(100_000, 1));
    expect(await diskBytes(root, 3)).toBeLessThan(await diskBytes(root));
  });
});
