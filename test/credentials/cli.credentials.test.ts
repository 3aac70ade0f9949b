import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { Command } from 'commander';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { registerCredentialsCommands, type CredentialsCliIo } from '../../src/cli/credentials.js';

let dataDir: string;
beforeEach(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'bgagent-cli-cred-'));
});
afterEach(async () => {
  process.exitCode = undefined;
  await rm(dataDir, { recursive: true, force: true });
});

const sink = () => {
  const s = new PassThrough();
  let text = '';
  s.on('data', (d) => (text += d));
  return { stream: s, text: () => text };
};

/** Runs `bgagent ARGS` in-process through the real commander program. */
async function run(args: string[], opts: { env?: Record<string, string>; stdin?: CredentialsCliIo['stdin'] } = {}) {
  const stdout = sink();
  const stderr = sink();
  const program = new Command('bgagent').exitOverride();
  registerCredentialsCommands(program, {
    env: { BGAGENT_DATA_DIR: dataDir, ...opts.env },
    stdin: opts.stdin ?? Readable.from([]),
    stdout: stdout.stream,
    stderr: stderr.stream,
  });
  let error: Error | undefined;
  try {
    await program.parseAsync(args, { from: 'user' });
  } catch (err) {
    error = err as Error;
  }
  const exitCode = process.exitCode ?? 0;
  process.exitCode = undefined;
  return { stdout: stdout.text(), stderr: stderr.text(), exitCode, error };
}

describe('bgagent credentials', () => {
  it('adds from stdin, lists without the value, tests ok without the value, removes', async () => {
    const add = await run(['credentials', 'add', 'linear-api-key', '--type', 'api-key', '--from-stdin'], { stdin: Readable.from(['lin_api_TOPSECRET\n']) });
    expect(add.error).toBeUndefined();
    expect(add.stdout).toBe('Added linear-api-key (api-key). Reference it as vault:linear-api-key\n');

    const list = await run(['credentials', 'list', '--json']);
    const parsed = JSON.parse(list.stdout) as { credentials: { name: string; type: string }[] };
    expect(parsed.credentials).toMatchObject([{ name: 'linear-api-key', type: 'api-key' }]);
    expect(list.stdout).not.toContain('TOPSECRET');
    const table = await run(['credentials', 'list']);
    expect(table.stdout).toMatch(/^NAME\s+TYPE\s+CREATED\s+UPDATED\nlinear-api-key\s+api-key\s+\d{4}-/);

    const test = await run(['credentials', 'test', 'vault:linear-api-key']);
    expect(test).toMatchObject({ exitCode: 0, stdout: 'ok  vault:linear-api-key\n' });
    const testJson = await run(['credentials', 'test', 'vault:linear-api-key', '--json']);
    expect(JSON.parse(testJson.stdout)).toEqual({ ref: 'vault:linear-api-key', status: 'ok', message: 'resolves' });
    expect(test.stdout + testJson.stdout).not.toContain('TOPSECRET');

    expect((await run(['credentials', 'remove', 'linear-api-key'])).stdout).toBe('Removed linear-api-key\n');
    expect((await run(['credentials', 'remove', 'linear-api-key'])).error?.message).toBe('no entry "linear-api-key" in the vault');
  });

  it('adds from an environment variable and from a hidden prompt on a TTY', async () => {
    await run(['credentials', 'add', 'gh', '--type', 'github-token', '--from-env', 'MY_GH'], { env: { MY_GH: 'ghp_fromenv' } });
    const tty = Object.assign(new PassThrough(), { isTTY: true, rawModes: [] as boolean[], setRawMode(raw: boolean) { this.rawModes.push(raw); return this; } });
    const pending = run(['credentials', 'add', 'anthropic', '--type', 'api-key'], { stdin: tty });
    setImmediate(() => tty.write('sk-ant-typed\r'));
    const prompted = await pending;
    expect(prompted.stderr).toBe('Value for anthropic: \n');
    expect(tty.rawModes).toEqual([true, false]);

    const json = JSON.parse((await run(['credentials', 'list', '--json'])).stdout) as { credentials: { name: string }[] };
    expect(json.credentials.map((c) => c.name)).toEqual(['anthropic', 'gh']);
    expect((await run(['credentials', 'test', 'vault:anthropic'])).exitCode).toBe(0);
  });

  it('refuses to read a value from a non-TTY without a flag, and bad types', async () => {
    expect((await run(['credentials', 'add', 'x'])).error?.message).toMatch(/not a terminal/);
    expect((await run(['credentials', 'add', 'x', '--type', 'nope', '--from-stdin'])).error?.message).toMatch(/--type must be one of/);
    expect((await run(['credentials', 'add', 'x', '--from-env', 'UNSET_VAR'])).error?.message).toMatch(/UNSET_VAR is not set/);
  });

  it('test reports a classified error with its remedy and exits non-zero', async () => {
    const res = await run(['credentials', 'test', 'vault:missing']);
    expect(res.exitCode).toBe(1);
    expect(res.stdout).toBe('ERROR  vault:missing: no entry "missing" in the local vault\n  remedy: add it with: bgagent credentials add missing --type api-key\n');
  });
});

describe('bgagent doctor', () => {
  it('lists each configured reference with its status, without values, and fails on an ERROR', async () => {
    await run(['credentials', 'add', 'linear', '--from-stdin'], { stdin: Readable.from(['lin_api_OK']) });
    const env = {
      LINEAR_API_KEY: 'vault:linear',
      GITHUB_TOKEN: 'env:NOT_SET_ANYWHERE',
      ANTHROPIC_API_KEY: 'sk-ant-LITERALVALUE',
    };
    const res = await run(['doctor'], { env });
    expect(res.exitCode).toBe(1);
    expect(res.stdout).toContain('LINEAR_API_KEY: ok  vault:linear\n');
    expect(res.stdout).toContain('GITHUB_TOKEN: ERROR  env:NOT_SET_ANYWHERE: environment variable NOT_SET_ANYWHERE is not set\n  remedy: export NOT_SET_ANYWHERE=');
    expect(res.stdout).toContain('ANTHROPIC_API_KEY: WARN  (literal value): a literal secret');
    expect(res.stdout).toContain('LINEAR_WEBHOOK_SECRET: not set\n');
    expect(res.stdout).not.toMatch(/lin_api_OK|LITERALVALUE/);

    const json = JSON.parse((await run(['doctor', '--json'], { env })).stdout) as { ok: boolean; credentials: { variable: string; status: string }[]; not_set: string[] };
    expect(json.ok).toBe(false);
    expect(json.credentials.map((c) => [c.variable, c.status])).toEqual([
      ['LINEAR_API_KEY', 'ok'],
      ['GITHUB_TOKEN', 'error'],
      ['ANTHROPIC_API_KEY', 'warn'],
    ]);
    expect(json.not_set).toEqual(['LINEAR_WEBHOOK_SECRET']);
  });

  it('passes when nothing is in error; the unresolved default Linear key and AgentCore without a region are warnings', async () => {
    // The sandbox row is covered in test/sandbox/fail-closed.test.ts; here it must not depend on bwrap.
    const res = await run(['doctor'], { env: { GITHUB_TOKEN: 'agentcore:github-pat', BGAGENT_SANDBOX: 'none' } });
    expect(res.exitCode).toBe(0);
    expect(res.stdout).toMatch(/LINEAR_API_KEY: WARN {2}vault:linear-api-key: no entry "linear-api-key" in the local vault \(the default; Linear features stay off until it resolves\)/);
    expect(res.stdout).toContain('GITHUB_TOKEN: UNAVAILABLE  agentcore:github-pat: no AWS region configured\n  remedy: set AWS_REGION');
    expect(res.stdout).toContain('sandbox: WARN  BGAGENT_SANDBOX=none: agents run unconfined');
    expect(res.stdout).toContain('No errors.');
  });

  it('checks the GitHub App key only in a GitHub App setup', async () => {
    const appWithoutKey = JSON.parse((await run(['doctor', '--json'], { env: { GITHUB_APP_ID: '42' } })).stdout) as { not_set: string[] };
    expect(appWithoutKey.not_set).toContain('GITHUB_APP_PRIVATE_KEY');
    const app = JSON.parse((await run(['doctor', '--json'], { env: { GITHUB_APP_ID: '42', GITHUB_APP_PRIVATE_KEY: 'env:NO_APP_KEY' } })).stdout) as { credentials: { variable: string; status: string }[] };
    expect(app.credentials.find((c) => c.variable === 'GITHUB_APP_PRIVATE_KEY')?.status).toBe('error');
  });
});
