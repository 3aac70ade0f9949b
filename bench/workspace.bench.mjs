// Time to a ready task workspace: from a warm mirror (WorkspaceManager.prepare, which also refreshes the
// mirror) versus a fresh `git clone` over file://, on a generated repository with 5,000 commits and
// 2,000 files. Prints a markdown table row of medians. Needs `npm run build` first.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WorkspaceManager } from '../dist/workspace/index.js';

const COMMITS = 5000;
const FILES = 2000;
const RUNS = Number(process.env.BENCH_RUNS ?? 5);

const root = mkdtempSync(join(tmpdir(), 'bgagent-bench-ws-'));
const git = (cwd, ...args) => execFileSync('git', args, { cwd, encoding: 'utf8', maxBuffer: 1 << 30 }).trim();

/** A fast-import stream: the first commit adds every file, each later one changes one file. */
function importStream() {
  const parts = [];
  const who = 'bench <bench@example.com>';
  let t = 1_700_000_000;
  for (let c = 0; c < COMMITS; c++) {
    const msg = `commit ${c}`;
    parts.push(`commit refs/heads/main\nmark :${c + 1}\ncommitter ${who} ${t++} +0000\ndata ${Buffer.byteLength(msg)}\n${msg}\n`);
    if (c > 0) parts.push(`from :${c}\n`);
    const files = c === 0 ? [...Array(FILES).keys()] : [c % FILES];
    for (const f of files) {
      const content = `// file ${f}, revision ${c}\n${'export const value = 1;\n'.repeat(20)}`;
      parts.push(`M 100644 inline src/dir${f % 50}/file${f}.ts\ndata ${Buffer.byteLength(content)}\n${content}\n`);
    }
  }
  return parts.join('');
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

async function timed(fn) {
  const start = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

try {
  const bare = join(root, 'remote.git');
  git(root, 'init', '-q', '--bare', '-b', 'main', bare);
  const imported = spawnSync('git', ['fast-import', '--quiet'], { cwd: bare, input: importStream(), maxBuffer: 1 << 30 });
  if (imported.status !== 0) throw new Error(`fast-import failed: ${imported.stderr}`);
  git(bare, 'gc', '-q');
  const url = `file://${bare}`;
  const repo = { name: 'bench/big', cloneUrl: url, defaultBranch: 'main' };

  const manager = new WorkspaceManager({ dataDir: join(root, 'data') });
  const coldMs = await timed(() => manager.ensureMirror(repo));

  const fromMirror = [];
  const freshClone = [];
  const worktree = [];
  for (let i = 0; i < RUNS; i++) {
    let ws;
    fromMirror.push(await timed(async () => {
      ws = await manager.prepare({ taskId: `bench-${i}`, repo, branch: `bgagent/bench-${i}/x` });
    }));
    await manager.remove(ws);

    const dir = join(root, `clone-${i}`);
    freshClone.push(await timed(async () => {
      git(root, 'clone', '-q', url, dir);
      git(dir, 'checkout', '-q', '-b', `bgagent/clone-${i}/x`);
    }));
    rmSync(dir, { recursive: true, force: true });

    // The alternative the manager does not use (see workspace-manager.ts), measured for comparison.
    const mirror = manager.mirrorPath(repo.name);
    const wt = join(root, `worktree-${i}`);
    worktree.push(await timed(async () => git(mirror, 'worktree', 'add', '-q', '-b', `bgagent/wt-${i}/x`, wt, 'main')));
    git(mirror, 'worktree', 'remove', '--force', wt);
  }

  const ms = (x) => `${Math.round(x)} ms`;
  console.log(`Repository: ${COMMITS} commits, ${FILES} files; median of ${RUNS} runs; first mirror clone ${ms(coldMs)}.\n`);
  console.log('| ready workspace from warm mirror (fetch + --shared clone + checkout) | fresh `git clone` (file://) | `git worktree add` from mirror (not used) |');
  console.log('|---|---|---|');
  console.log(`| ${ms(median(fromMirror))} | ${ms(median(freshClone))} | ${ms(median(worktree))} |`);
} finally {
  rmSync(root, { recursive: true, force: true });
}
