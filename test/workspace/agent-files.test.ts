import { execFileSync } from 'node:child_process';
import { linkSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AgentFileError, readAgentFile, writeAgentFile } from '../../src/workspace/agent-files.js';

const CANARY = 'CANARY-ADMIN-TOKEN-3f9c1e';

let dir: string;
let root: string;
let secret: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'bgagent-agent-files-'));
  root = join(dir, 'workspace');
  mkdirSync(root);
  secret = join(dir, 'admin-token');
  writeFileSync(secret, `${CANARY}\n`);
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const read = (path: string, maxBytes = 1024) => readAgentFile(root, path, { maxBytes });

describe('readAgentFile', () => {
  it('reads a regular file, through links that stay inside the root, and says undefined when it is absent', () => {
    mkdirSync(join(root, 'docs'));
    writeFileSync(join(root, 'docs', 'AGENTS.md'), 'guidance\n');
    symlinkSync('docs', join(root, 'alias'));
    expect(read('docs/AGENTS.md')).toBe('guidance\n');
    expect(read('alias/AGENTS.md')).toBe('guidance\n');
    expect(read('missing.md')).toBeUndefined();
    expect(read('missing-dir/AGENTS.md')).toBeUndefined();
  });

  it('refuses a symbolic link at the final component, even one to a file inside the root', () => {
    symlinkSync(secret, join(root, 'AGENTS.md'));
    writeFileSync(join(root, 'inside.md'), 'inside\n');
    symlinkSync('inside.md', join(root, 'link.md'));
    expect(() => read('AGENTS.md')).toThrow(/refused AGENTS\.md: it is a symbolic link/);
    expect(() => read('link.md')).toThrow(AgentFileError);
  });

  it('refuses a parent directory that leads outside the root, and .. out of it', () => {
    symlinkSync(dir, join(root, 'up'));
    expect(() => read('up/admin-token')).toThrow(/leads outside its root/);
    expect(() => read('../admin-token')).toThrow(/leads outside its root/);
    expect(() => read('.')).toThrow(/outside/);
  });

  it('refuses a FIFO (without blocking on it) and a directory', () => {
    execFileSync('mkfifo', [join(root, 'fifo')]);
    mkdirSync(join(root, 'adir'));
    expect(() => read('fifo')).toThrow(/refused fifo: not a regular file/);
    expect(() => read('adir')).toThrow(/refused adir: not a regular file/);
  });

  it('refuses a file over the cap', () => {
    writeFileSync(join(root, 'big'), 'x'.repeat(1025));
    writeFileSync(join(root, 'fits'), 'x'.repeat(1024));
    expect(() => read('big')).toThrow(/refused big: larger than 1024 bytes/);
    expect(read('fits')).toHaveLength(1024);
  });
});

describe('writeAgentFile', () => {
  it('creates the file and its missing parents inside the root', () => {
    writeAgentFile(root, '.claude/projects/x/s.jsonl', 'line\n', { mode: 0o600 });
    expect(readFileSync(join(root, '.claude/projects/x/s.jsonl'), 'utf8')).toBe('line\n');
    expect(lstatSync(join(root, '.claude/projects/x/s.jsonl')).mode & 0o777).toBe(0o600);
    writeAgentFile(root, '.claude/projects/x/s.jsonl', 'again\n');
    expect(readFileSync(join(root, '.claude/projects/x/s.jsonl'), 'utf8')).toBe('again\n');
    expect(readdirSync(join(root, '.claude/projects/x'))).toEqual(['s.jsonl']);
  });

  it('replaces a symbolic link or a hard link at the final component instead of writing through it', () => {
    symlinkSync(secret, join(root, 'config'));
    writeAgentFile(root, 'config', 'platform\n');
    expect(lstatSync(join(root, 'config')).isFile()).toBe(true);
    expect(readFileSync(join(root, 'config'), 'utf8')).toBe('platform\n');

    linkSync(secret, join(root, 'hard'));
    writeAgentFile(root, 'hard', 'platform\n');
    expect(readFileSync(secret, 'utf8')).toBe(`${CANARY}\n`);
  });

  it('refuses a parent that leads outside the root and creates nothing there', () => {
    symlinkSync(dir, join(root, 'up'));
    expect(() => writeAgentFile(root, 'up/new-dir/file', 'x')).toThrow(/leads outside its root/);
    expect(() => writeAgentFile(root, '../admin-token', 'x')).toThrow(/outside/);
    expect(readdirSync(dir).sort()).toEqual(['admin-token', 'workspace']);
    expect(readFileSync(secret, 'utf8')).toBe(`${CANARY}\n`);
  });

  it('refuses to replace a directory', () => {
    mkdirSync(join(root, 'adir'));
    expect(() => writeAgentFile(root, 'adir', 'x')).toThrow(/refused adir: not a regular file/);
    expect(readdirSync(root)).toEqual(['adir']);
  });
});
