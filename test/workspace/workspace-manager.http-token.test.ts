import { readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WorkspaceManager, type Workspace } from '../../src/workspace/index.js';
import { startGitHttpServer, type GitHttpServer } from '../support/git-http-server.js';
import { createRemoteFixture, git, type RemoteFixture } from './remote-fixture.js';

const TOKEN = 'fake-ghp-secretPushToken1234567890abcdefABCDEF';

let fx: RemoteFixture;
let server: GitHttpServer;
beforeEach(async () => {
  fx = createRemoteFixture();
  // http-backend refuses pushes to a repository that has not opted in.
  git(fx.bare, 'config', 'http.receivepack', 'true');
  server = await startGitHttpServer({ root: join(fx.root, 'remotes'), token: TOKEN });
});
afterEach(async () => {
  await server.close();
  fx.cleanup();
});

/** Every file under a directory, as text, to search for a leaked token. */
function allConfigText(dir: string): string {
  let text = '';
  for (const entry of readdirSync(dir, { recursive: true, encoding: 'utf8' })) {
    const path = join(dir, entry);
    if (statSync(path).isFile() && /(^|\/)(config|FETCH_HEAD|packed-refs)$|\.json$/.test(entry)) text += readFileSync(path, 'utf8');
  }
  return text;
}

describe('WorkspaceManager over HTTP with a token', () => {
  it('fetches and pushes with the token, which never lands in a config file', async () => {
    const manager = new WorkspaceManager({ dataDir: fx.dataDir });
    const cloneUrl = `${server.url}/demo.git`;
    const ws: Workspace = await manager.prepare({
      taskId: '01HTTP',
      repo: { name: 'acme/demo', cloneUrl, defaultBranch: 'main' },
      branch: 'bgagent/01http/change',
      auth: { token: TOKEN },
    });
    writeFileSync(join(ws.path, 'feature.txt'), 'feature\n');
    const { sha } = await manager.commitAll(ws, { message: 'feature', authorName: 'a', authorEmail: 'a@a' });
    await manager.push(ws, { cloneUrl, auth: { token: TOKEN } });

    expect(git(fx.bare, 'rev-parse', `refs/heads/${ws.branch}`)).toBe(sha);
    expect(server.requests.some((r) => r.path.endsWith('/git-receive-pack') && r.authorized)).toBe(true);
    const stored = allConfigText(fx.dataDir);
    expect(stored).toContain(cloneUrl);
    expect(stored).not.toContain(TOKEN);
    expect(stored).not.toContain(Buffer.from(`x-access-token:${TOKEN}`).toString('base64'));
  });

  it('fails cleanly without the token or with a wrong one, and never repeats the token', async () => {
    const manager = new WorkspaceManager({ dataDir: fx.dataDir });
    const cloneUrl = `${server.url}/demo.git`;
    const ws = await manager.prepare({
      taskId: '01NOAUTH',
      repo: { name: 'acme/demo', cloneUrl, defaultBranch: 'main' },
      branch: 'bgagent/01noauth/change',
      auth: { token: TOKEN },
    });
    writeFileSync(join(ws.path, 'feature.txt'), 'feature\n');
    await manager.commitAll(ws, { message: 'feature', authorName: 'a', authorEmail: 'a@a' });

    const without = await manager.push(ws, { cloneUrl }).catch((e: Error) => e);
    expect(without).toBeInstanceOf(Error);
    expect((without as Error).message).toMatch(/git push .* failed .*(Authentication failed|could not read Username|terminal prompts disabled)/s);

    const wrongToken = 'fake-ghp-wrongTokenThatMustNotLeak000000000000';
    const wrong = await manager.push(ws, { cloneUrl, auth: { token: wrongToken, username: 'bot' } }).catch((e: Error) => e);
    expect((wrong as Error).message).toMatch(/git push .* failed/);
    expect((wrong as Error).message).not.toContain(wrongToken);
    expect((without as Error).message).not.toContain(TOKEN);

    // A URL carrying credentials is masked in the error too.
    const inUrl = await manager.push(ws, { cloneUrl: cloneUrl.replace('http://', `http://bot:${wrongToken}@`) }).catch((e: Error) => e);
    expect((inUrl as Error).message).toMatch(/git push .* failed/);
    expect((inUrl as Error).message).not.toContain(wrongToken);
    expect(() => git(fx.bare, 'rev-parse', '--verify', `refs/heads/${ws.branch}`)).toThrow();
  });

  it('cannot create the mirror without the token', async () => {
    const manager = new WorkspaceManager({ dataDir: fx.dataDir });
    const err = await manager.ensureMirror({ name: 'acme/demo', cloneUrl: `${server.url}/demo.git` }).catch((e: Error) => e);
    expect((err as Error).message).toMatch(/git fetch .* failed/);
  });
});
