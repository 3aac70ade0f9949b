import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cloneUrlProblem } from '../../src/workspace/clone-url.js';
import { runGit } from '../../src/workspace/git.js';
import { WorkspaceManager } from '../../src/workspace/index.js';
import { startTestServer } from '../support/server.js';

const root = mkdtempSync(join(tmpdir(), 'bgagent-clone-url-'));
const dataDir = join(root, 'data');
const pwned = join(root, 'pwned');
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** Forms an attacker would try, each of which once reached git as an option or a transport that runs code. */
const REFUSED: Array<[string, RegExp]> = [
  [`--upload-pack=touch ${pwned};true@x:`, /must not start with "-"/],
  [`-oProxyCommand=touch ${pwned}`, /must not start with "-"/],
  [`ext::sh -c touch% ${pwned}`, /whitespace/],
  [`ext::sh%20-c%20touch%20${pwned}`, /scp-style/],
  ['https://example.com/a\n.git', /control characters/],
  ['https://example.com/a\u0007.git', /control characters/],
  ['git@-oProxyCommand=x:repo', /scp-style/],
  ['ssh://-oProxyCommand=x/repo', /no valid host/],
  ['ftp://example.com/repo.git', /scheme "ftp" is not accepted/],
  [`file://${dataDir}/mirrors/other.git`, /inside bgagent's data dir/],
  [`file://${dataDir}`, /inside bgagent's data dir/],
  [`file://${dataDir}/..hidden/x.git`, /inside bgagent's data dir/],
  ['', /empty/],
];

describe('clone URLs', () => {
  it('accepts https, http, ssh, scp-style and file URLs outside the data dir', () => {
    for (const url of ['https://github.com/acme/demo.git', 'http://127.0.0.1:8080/acme/demo.git', 'ssh://git@github.com/acme/demo.git', 'git@github.com:acme/demo.git', `file://${root}/remotes/demo.git`, `file://${dataDir}-sibling/demo.git`]) {
      expect(cloneUrlProblem(url, { dataDir }), url).toBeUndefined();
    }
  });

  it.each(REFUSED)('refuses %j', (url, why) => {
    expect(cloneUrlProblem(url, { dataDir })).toMatch(why);
  });

  it('never lets a stored URL reach git as an option: the mirror fetch refuses it and runs nothing', async () => {
    const manager = new WorkspaceManager({ dataDir });
    await expect(manager.ensureMirror({ name: 'acme/evil', cloneUrl: `--upload-pack=touch ${pwned};true@x:` })).rejects.toThrow(/refused the clone URL/);
    expect(existsSync(pwned)).toBe(false);
  });

  it('runs git with no transport that runs a command (ext::), whatever the URL check says', async () => {
    await runGit(['init', '--quiet', '--bare', '--', join(root, 'bare.git')]);
    await expect(runGit(['fetch', '--quiet', '--', `ext::sh -c touch% ${pwned}`, 'main'], { cwd: join(root, 'bare.git') })).rejects.toThrow(/transport 'ext' not allowed|not allowed/);
    expect(existsSync(pwned)).toBe(false);
  });

  it('the repos route answers 400 for each refused form and stores nothing', async () => {
    const server = await startTestServer({ dialect: 'sqlite', dataDir });
    try {
      for (const [url] of REFUSED) {
        const res = await server.api('POST', '/v1/repos', { body: { name: 'acme/evil', clone_url: url, agent: 'command', agent_settings: { command: 'true' } } });
        expect(res.status, url).toBe(400);
        expect(res.body.error.code).toBe('VALIDATION_ERROR');
      }
      expect((await server.api('GET', '/v1/repos')).body.repos).toEqual([]);
    } finally {
      await server.close(2000);
    }
  });
});
