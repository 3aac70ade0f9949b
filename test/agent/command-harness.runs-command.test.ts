import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CommandHarness, createHarness } from '../../src/agent/index.js';
import { commandRun } from './command-run.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'bgagent-cmd-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const harness = () => new CommandHarness({ dataDir: join(dir, 'data'), sandbox: 'none' });

describe('CommandHarness', () => {
  it('turns each output line into an event and succeeds on exit code 0', async () => {
    const input = commandRun(dir, "echo one; echo two >&2; printf 'three\\r\\nlast without newline'");
    const result = await harness().run(input);
    expect(result).toEqual({ outcome: 'success', summary: 'one\nthree\nlast without newline' });
    const lines = input.events.map((e) => [e.type, e.data?.stream, e.message]);
    expect(lines).toHaveLength(4);
    expect(lines.filter((l) => l[1] === 'stdout')).toEqual([
      ['agent_output', 'stdout', 'one'],
      ['agent_output', 'stdout', 'three'],
      ['agent_output', 'stdout', 'last without newline'],
    ]);
    expect(lines).toContainEqual(['agent_output', 'stderr', 'two']);
  });

  it('gives the task on stdin, in BGAGENT_TASK and in a file outside the workspace', async () => {
    const input = commandRun(dir, 'cat > stdin.txt; printf %s "$BGAGENT_TASK" > env.txt; cat "$BGAGENT_TASK_FILE" > file.txt; echo "$BGAGENT_TASK_FILE" > where.txt');
    expect((await harness().run(input)).outcome).toBe('success');
    for (const f of ['stdin.txt', 'env.txt', 'file.txt']) expect(readFileSync(join(dir, f), 'utf8')).toBe('Fix the bug\nin two lines');
    const taskFile = readFileSync(join(dir, 'where.txt'), 'utf8').trim();
    expect(taskFile.startsWith(dir)).toBe(false);
  });

  it('runs with exactly the environment it was given, plus the task variables', async () => {
    process.env.BGAGENT_TEST_PARENT_ONLY = 'must-not-leak';
    try {
      const input = commandRun(dir, 'env');
      expect((await harness().run(input)).outcome).toBe('success');
      const names = input.events.map((e) => e.message.split('=')[0]);
      expect(input.events.map((e) => e.message).join('\n')).not.toContain('must-not-leak');
      expect(names).toContain('GIVEN_VAR');
      // The shell itself adds PWD, SHLVL and _.
      const allowed = new Set(['PATH', 'HOME', 'GIVEN_VAR', 'BGAGENT_TASK', 'BGAGENT_TASK_FILE', 'PWD', 'SHLVL', '_', 'OLDPWD', 'in two lines']);
      expect(names.filter((n) => !allowed.has(n!))).toEqual([]);
    } finally {
      delete process.env.BGAGENT_TEST_PARENT_ONLY;
    }
  });

  it('fails on a non-zero exit with the code and the last stderr lines', async () => {
    const input = commandRun(dir, 'for i in $(seq 1 30); do echo "err $i" >&2; done; exit 3');
    const result = await harness().run(input);
    expect(result.outcome).toBe('failed');
    expect(result.errorMessage).toMatch(/^the agent command exited with code 3:\nerr 21\n/);
    expect(result.errorMessage).toMatch(/err 30$/);
    expect(result.errorMessage).not.toContain('err 20\n');
  });

  it('caps very long lines', async () => {
    const input = commandRun(dir, "head -c 100000 /dev/zero | tr '\\0' a; echo; echo after");
    expect((await harness().run(input)).outcome).toBe('success');
    expect(input.events.map((e) => e.message.length)).toEqual([2001, 5]);
    expect(input.events[1]!.message).toBe('after');
  });

  it('fails clearly without a configured command', async () => {
    const result = await harness().run(commandRun(dir, '', { settings: {} }));
    expect(result).toEqual({ outcome: 'failed', errorMessage: 'the repository has no agent command configured (agent settings "command")' });
  });
});

describe('createHarness', () => {
  it('creates the command harness and refuses an unknown name', () => {
    expect(createHarness('command', { dataDir: dir, sandbox: { mode: 'none' } }).name).toBe('command');
    expect(() => createHarness('codex', { dataDir: dir, sandbox: { mode: 'none' } })).toThrow('unknown agent harness "codex" (available: command, claude)');
  });
});
