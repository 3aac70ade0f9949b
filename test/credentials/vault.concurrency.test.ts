import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { withFileLock } from '../../src/credentials/file-lock.js';
import { LocalVault } from '../../src/credentials/vault.js';

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'bgagent-vault-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

const SRC = join(dirname(fileURLToPath(import.meta.url)), '../../src/credentials');

/** Transpiles the vault module and its imports to plain ESM so a child `node` process can load the real code. */
async function buildVaultForNode(outDir: string): Promise<string> {
  await mkdir(outDir, { recursive: true });
  await writeFile(join(outDir, 'package.json'), '{"type":"module"}');
  for (const name of ['vault', 'file-lock', 'reference', 'secret', 'errors']) {
    const source = await readFile(join(SRC, `${name}.ts`), 'utf8');
    const { outputText } = ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } });
    await writeFile(join(outDir, `${name}.js`), outputText);
  }
  return join(outDir, 'vault.js');
}

function runNode(script: string, args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', script, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stderr }));
  });
}

describe('LocalVault concurrent writers', () => {
  it('loses no entry when two instances write 20 entries in parallel', async () => {
    const dataDir = join(root, 'data');
    const a = new LocalVault({ dataDir });
    const b = new LocalVault({ dataDir });
    await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).set(`entry-${i}`, 'secret', `value-${i}`)));
    const names = (await a.list()).map((e) => e.name);
    expect(names).toHaveLength(20);
    for (let i = 0; i < 20; i++) expect((await b.get(`entry-${i}`))?.reveal()).toBe(`value-${i}`);
  });

  it('loses no entry when two processes write at the same time', async () => {
    const dataDir = join(root, 'data');
    const vaultJs = await buildVaultForNode(join(root, 'build'));
    const script = `
      const { LocalVault } = await import(process.argv[1]);
      const [dataDir, prefix] = process.argv.slice(2);
      const vault = new LocalVault({ dataDir });
      await Promise.all(Array.from({ length: 10 }, (_, i) => vault.set(prefix + i, 'secret', 'v-' + prefix + i)));
    `;
    const results = await Promise.all([runNode(script, [vaultJs, dataDir, 'p1-']), runNode(script, [vaultJs, dataDir, 'p2-'])]);
    for (const r of results) expect(r.stderr).toBe('');
    const vault = new LocalVault({ dataDir });
    const names = (await vault.list()).map((e) => e.name);
    expect(names).toHaveLength(20);
    expect((await vault.get('p2-7'))?.reveal()).toBe('v-p2-7');
  });

  it('takes over a lock left by a process that no longer exists', async () => {
    const dataDir = join(root, 'data');
    await mkdir(dataDir, { recursive: true });
    const dead = spawn(process.execPath, ['-e', '']);
    const deadPid = await new Promise<number>((resolve) => dead.on('exit', () => resolve(dead.pid!)));
    await writeFile(join(dataDir, 'vault.lock'), `${deadPid} ${Date.now()}`);
    const vault = new LocalVault({ dataDir });
    await vault.set('a', 'api-key', 'v');
    expect((await vault.get('a'))?.reveal()).toBe('v');
  });

  it('waits for a live lock holder and runs critical sections one at a time', async () => {
    const lock = join(root, 'x.lock');
    let inside = 0;
    let maxInside = 0;
    await Promise.all(
      Array.from({ length: 8 }, () =>
        withFileLock(lock, async () => {
          maxInside = Math.max(maxInside, ++inside);
          await new Promise((r) => setTimeout(r, 2));
          inside--;
        }),
      ),
    );
    expect(maxInside).toBe(1);
  });
});
