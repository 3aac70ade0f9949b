import { generateKeyPairSync, verify } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAppJwt, githubAppAuth } from '../../src/github/app-auth.js';
import { createGitHubClient } from '../../src/github/client.js';
import { GitHubApiError } from '../../src/github/errors.js';
import { GitHubPreflightError, preflightRepo } from '../../src/github/preflight.js';
import { startGitHubEmulator, type GitHubEmulator } from '../support/github/emulator.js';

const APP_ID = 4242;
const keys = generateKeyPairSync('rsa', { modulusLength: 2048 });
const privatePem = keys.privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
const publicPem = keys.publicKey.export({ type: 'spki', format: 'pem' }).toString();

let clock = Date.now();
const now = () => clock;
let gh: GitHubEmulator;

beforeAll(async () => {
  gh = await startGitHubEmulator({
    now,
    app: {
      id: APP_ID,
      publicKey: publicPem,
      installations: [
        { id: 7, account: 'acme', repos: ['acme/app', 'acme/lib'] },
        { id: 8, account: 'ro', repos: ['ro/docs'], permissions: { contents: 'read', metadata: 'read' } },
      ],
    },
  });
  await Promise.all([gh.createRepo('acme', 'app'), gh.createRepo('acme', 'lib'), gh.createRepo('ro', 'docs'), gh.createRepo('acme', 'elsewhere')]);
});
afterAll(() => gh.close());

const appAuth = (privateKey = privatePem) => githubAppAuth({ apiUrl: gh.url, appId: APP_ID, getPrivateKey: async () => privateKey, now });
const tokenPosts = () => gh.calls.filter((c) => c.method === 'POST' && /\/access_tokens$/.test(c.path));

describe('createAppJwt', () => {
  it('signs RS256 claims iss = app id, iat 60 s in the past, exp 9 minutes ahead', () => {
    const at = Date.UTC(2030, 0, 1);
    const jwt = createAppJwt(APP_ID, privatePem, at);
    const [h, p, s] = jwt.split('.') as [string, string, string];
    expect(JSON.parse(Buffer.from(h, 'base64url').toString())).toEqual({ alg: 'RS256', typ: 'JWT' });
    expect(JSON.parse(Buffer.from(p, 'base64url').toString())).toEqual({ iss: String(APP_ID), iat: at / 1000 - 60, exp: at / 1000 + 540 });
    expect(verify('sha256', Buffer.from(`${h}.${p}`), keys.publicKey, Buffer.from(s, 'base64url'))).toBe(true);
  });
});

describe('githubAppAuth', () => {
  it('finds the installation, gets an installation token, and the API accepts it', async () => {
    const auth = appAuth();
    const octokit = createGitHubClient({ apiUrl: gh.url, auth, owner: 'acme', repo: 'app' });
    const result = await preflightRepo(octokit, { owner: 'acme', repo: 'app', auth });
    expect(result.defaultBranch).toBe('main');
    const appCalls = gh.calls.filter((c) => c.actor === `app:${APP_ID}`).map((c) => `${c.method} ${c.path}`);
    expect(appCalls).toEqual(['GET /repos/acme/app/installation', 'POST /app/installations/7/access_tokens']);
    expect(gh.calls.at(-1)).toMatchObject({ path: '/repos/acme/app', status: 200, actor: 'bgagent[bot]' });
  });

  it('reuses the token until 5 minutes before it expires, then fetches a new one', async () => {
    const auth = appAuth();
    const before = tokenPosts().length;
    const first = await auth.tokenFor('acme', 'app');
    expect(await auth.tokenFor('acme', 'lib')).toBe(first); // same installation
    clock += 54 * 60_000;
    expect(await auth.tokenFor('acme', 'app')).toBe(first);
    expect(tokenPosts().length).toBe(before + 1);
    clock += 2 * 60_000; // 56 minutes in: within the 5-minute margin of the 60-minute expiry
    const second = await auth.tokenFor('acme', 'app');
    expect(second).not.toBe(first);
    expect(tokenPosts().length).toBe(before + 2);
  });

  it('shares one fetch among concurrent callers', async () => {
    const auth = appAuth();
    const installationLookups = () => gh.calls.filter((c) => c.path === '/repos/acme/lib/installation').length;
    const lookupsBefore = installationLookups();
    const postsBefore = tokenPosts().length;
    const tokens = await Promise.all(Array.from({ length: 5 }, () => auth.tokenFor('acme', 'lib')));
    expect(new Set(tokens).size).toBe(1);
    expect(installationLookups()).toBe(lookupsBefore + 1);
    expect(tokenPosts().length).toBe(postsBefore + 1);
  });

  it('fails pre-flight with INSUFFICIENT_GITHUB_REPO_PERMISSIONS when the installation cannot write contents', async () => {
    const auth = appAuth();
    const octokit = createGitHubClient({ apiUrl: gh.url, auth, owner: 'ro', repo: 'docs' });
    const err = await preflightRepo(octokit, { owner: 'ro', repo: 'docs', auth }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GitHubPreflightError);
    expect((err as GitHubPreflightError).code).toBe('INSUFFICIENT_GITHUB_REPO_PERMISSIONS');
    expect((err as GitHubPreflightError).message).toMatch(/Contents: Read and write/);
  });

  it('fails pre-flight with REPO_NOT_FOUND_OR_NO_ACCESS when the App is not installed on the repository', async () => {
    const auth = appAuth();
    const octokit = createGitHubClient({ apiUrl: gh.url, auth, owner: 'acme', repo: 'elsewhere' });
    const err = await preflightRepo(octokit, { owner: 'acme', repo: 'elsewhere', auth }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GitHubPreflightError);
    expect((err as GitHubPreflightError).code).toBe('REPO_NOT_FOUND_OR_NO_ACCESS');
    expect((err as GitHubPreflightError).message).toMatch(/GitHub App is installed/);
  });

  it('reports a key GitHub refuses as a 401 without the key or the JWT in the error', async () => {
    const otherKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const err = await appAuth(otherKey).tokenFor('acme', 'app').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GitHubApiError);
    expect((err as GitHubApiError).status).toBe(401);
    const text = `${(err as Error).message} ${JSON.stringify(err)} ${(err as Error).stack}`;
    expect(text).not.toContain('PRIVATE KEY');
    expect(text).not.toMatch(/eyJ[\w-]+\.eyJ/);
  });
});
