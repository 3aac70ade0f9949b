import { execFile } from 'node:child_process';
import { createPublicKey, randomBytes, verify, type KeyObject } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { serveWithGitHttpBackend } from './git-http-backend.js';

/**
 * A GitHub REST API emulator for tests: repositories (real bare git repos served over HTTP by
 * `git http-backend`), pull requests, issue comments and the GitHub App installation token flow, with
 * GitHub's JSON shapes and error bodies. The API lives under `/api/v3` (as on GitHub Enterprise Server),
 * git under `/{owner}/{repo}.git` (as on github.com). Test support only.
 */

const run = promisify(execFile);

export type RepoAccess = 'push' | 'pull';

export interface EmulatedTokenGrant {
  login: string;
  /** `owner/name` → access. */
  repos: Record<string, RepoAccess>;
}

export interface EmulatedInstallation {
  id: number;
  account: string;
  /** `owner/name` of every repository the installation covers. */
  repos: string[];
  /** The installation token's permissions. Default `{ contents: 'write', pull_requests: 'write', metadata: 'read' }`. */
  permissions?: Record<string, string>;
}

export interface EmulatedApp {
  id: number;
  slug?: string;
  /** The app's public key (PEM or KeyObject); JWTs are verified with it. */
  publicKey: string | KeyObject;
  installations: EmulatedInstallation[];
}

export interface GitHubEmulatorOptions {
  tokens?: Record<string, EmulatedTokenGrant>;
  app?: EmulatedApp;
  /** Epoch ms for JWT checks and token expiry. */
  now?: () => number;
  /** Lifetime of an installation token. Default 1 hour, as on GitHub. */
  installationTokenTtlMs?: number;
}

export interface EmulatedRepo {
  owner: string;
  name: string;
  fullName: string;
  id: number;
  defaultBranch: string;
  private: boolean;
  /** The bare repository on disk. */
  path: string;
}

export interface EmulatedPull {
  id: number;
  number: number;
  owner: string;
  repo: string;
  title: string;
  body: string | null;
  head: string;
  base: string;
  state: 'open' | 'closed';
  user: string;
  htmlUrl: string;
}

export interface EmulatedComment {
  id: number;
  owner: string;
  repo: string;
  issueNumber: number;
  body: string;
  user: string;
  htmlUrl: string;
}

export interface EmulatorCall {
  /** `api` for REST calls, `git` for git over HTTP. */
  kind: 'api' | 'git';
  method: string;
  /** The path without the `/api/v3` prefix and without the query. */
  path: string;
  query: string;
  status: number;
  /** Who made the call (a login, `app:<id>` for a JWT), or undefined when unauthenticated or refused. */
  actor: string | undefined;
}

export interface GitHubEmulator {
  /** The API base URL (GITHUB_API_URL). */
  url: string;
  /** The HTTP clone URL of a repository (no credentials in it). */
  gitUrl(owner: string, repo: string): string;
  state: { pulls: EmulatedPull[]; comments: EmulatedComment[]; repos: Record<string, EmulatedRepo> };
  calls: EmulatorCall[];
  createRepo(owner: string, name: string, opts?: { files?: Record<string, string>; defaultBranch?: string; private?: boolean }): Promise<EmulatedRepo>;
  /** The commit a branch points at in the served repository, or undefined when it does not exist. */
  branchSha(owner: string, repo: string, branch: string): Promise<string | undefined>;
  /** Grant (or change) a token's access at run time. */
  grant(token: string, grant: EmulatedTokenGrant): void;
  /** Answer the next `count` REST API calls with `status` (e.g. 502), as a GitHub outage would. */
  failNext(count: number, status: number): void;
  /** Runs `hook` when a push arrives and before it is received (a slow push); undefined removes it. */
  beforePush(hook: ((repo: string) => Promise<void>) | undefined): void;
  close(): Promise<void>;
}

const GIT_ENV = { GIT_AUTHOR_NAME: 'emulator', GIT_AUTHOR_EMAIL: 'e@e', GIT_COMMITTER_NAME: 'emulator', GIT_COMMITTER_EMAIL: 'e@e' };
const DOCS = 'https://docs.github.com/rest';

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
  ) {
    super(typeof body === 'object' && body && 'message' in body ? String(body.message) : `HTTP ${status}`);
  }
}

const notFound = () => new HttpError(404, { message: 'Not Found', documentation_url: DOCS });
const badCredentials = () => new HttpError(401, { message: 'Bad credentials', documentation_url: DOCS });
const validationFailed = (errors: object[]) =>
  new HttpError(422, { message: 'Validation Failed', errors, documentation_url: `${DOCS}/pulls/pulls#create-a-pull-request` });

type Actor =
  | { kind: 'none' }
  | { kind: 'token'; login: string; repos: Map<string, RepoAccess>; installation: boolean }
  | { kind: 'app'; appId: number };

interface TokenEntry {
  login: string;
  repos: Map<string, RepoAccess>;
  installation: boolean;
  expiresAtMs?: number;
}

export async function startGitHubEmulator(opts: GitHubEmulatorOptions = {}): Promise<GitHubEmulator> {
  const now = opts.now ?? Date.now;
  const ttlMs = opts.installationTokenTtlMs ?? 60 * 60_000;
  const root = mkdtempSync(join(tmpdir(), 'bgagent-github-emulator-'));
  const gitRoot = join(root, 'repos');
  mkdirSync(gitRoot);
  const appPublicKey = opts.app ? createPublicKey(opts.app.publicKey) : undefined;

  const tokens = new Map<string, TokenEntry>();
  const grant = (token: string, g: EmulatedTokenGrant) =>
    tokens.set(token, { login: g.login, repos: new Map(Object.entries(g.repos).map(([k, v]) => [k.toLowerCase(), v])), installation: false });
  for (const [token, g] of Object.entries(opts.tokens ?? {})) grant(token, g);

  const state: GitHubEmulator['state'] = { pulls: [], comments: [], repos: {} };
  const calls: EmulatorCall[] = [];
  const issueCounters = new Map<string, number>();
  let nextId = 1000;
  let origin = '';

  const repoOf = (owner: string, name: string): EmulatedRepo | undefined => state.repos[`${owner}/${name}`.toLowerCase()];

  async function branchSha(owner: string, name: string, branch: string): Promise<string | undefined> {
    const repo = repoOf(owner, name);
    if (!repo) return undefined;
    try {
      const { stdout } = await run('git', ['rev-parse', '--verify', '--quiet', `refs/heads/${branch}^{commit}`], { cwd: repo.path });
      return stdout.trim() || undefined;
    } catch {
      return undefined;
    }
  }

  async function commitsBetween(repo: EmulatedRepo, base: string, head: string): Promise<number> {
    const { stdout } = await run('git', ['rev-list', '--count', `refs/heads/${base}..refs/heads/${head}`], { cwd: repo.path });
    return Number.parseInt(stdout.trim(), 10);
  }

  function authenticate(req: IncomingMessage): Actor {
    const header = req.headers.authorization;
    if (!header) return { kind: 'none' };
    const [scheme = '', credential = ''] = header.split(/\s+/, 2);
    if (!/^(token|bearer)$/i.test(scheme) || !credential) throw badCredentials();
    if (credential.split('.').length === 3) return verifyJwt(credential);
    const entry = tokens.get(credential);
    if (!entry || (entry.expiresAtMs !== undefined && entry.expiresAtMs <= now())) throw badCredentials();
    return { kind: 'token', login: entry.login, repos: entry.repos, installation: entry.installation };
  }

  function verifyJwt(jwt: string): Actor {
    const invalid = (message: string) => new HttpError(401, { message, documentation_url: DOCS });
    if (!opts.app || !appPublicKey) throw invalid('A JSON web token could not be decoded');
    const [h = '', p = '', s = ''] = jwt.split('.');
    let header: { alg?: string };
    let payload: { iat?: number; exp?: number; iss?: string | number };
    try {
      header = JSON.parse(Buffer.from(h, 'base64url').toString());
      payload = JSON.parse(Buffer.from(p, 'base64url').toString());
    } catch {
      throw invalid('A JSON web token could not be decoded');
    }
    if (header.alg !== 'RS256' || !verify('sha256', Buffer.from(`${h}.${p}`), appPublicKey, Buffer.from(s, 'base64url'))) {
      throw invalid('A JSON web token could not be decoded');
    }
    const nowS = Math.floor(now() / 1000);
    if (String(payload.iss) !== String(opts.app.id)) throw invalid("'Issuer' claim ('iss') must be an Integer");
    if (typeof payload.iat !== 'number' || payload.iat > nowS + 30) {
      throw invalid("'Issued at' claim ('iat') must be an Integer representing a time in the past.");
    }
    if (typeof payload.exp !== 'number' || payload.exp <= nowS || payload.exp - payload.iat > 600) {
      throw invalid("'Expiration time' claim ('exp') is too far in the future or in the past.");
    }
    return { kind: 'app', appId: opts.app.id };
  }

  function accessTo(actor: Actor, repo: EmulatedRepo): RepoAccess | undefined {
    if (actor.kind === 'token') return actor.repos.get(repo.fullName.toLowerCase());
    if (actor.kind === 'none' && !repo.private) return 'pull';
    return undefined;
  }

  /** The repository, if this actor may see it; GitHub answers 404 for a private repository you cannot see. */
  function visibleRepo(actor: Actor, owner: string, name: string): { repo: EmulatedRepo; access: RepoAccess } {
    const repo = repoOf(owner, name);
    const access = repo && accessTo(actor, repo);
    if (!repo || !access) throw notFound();
    return { repo, access };
  }

  const userJson = (login: string) => ({ login, id: 1, type: login.endsWith('[bot]') ? 'Bot' : 'User' });

  function repoJson(repo: EmulatedRepo, actor: Actor, access: RepoAccess) {
    return {
      id: repo.id,
      node_id: `R_${repo.id}`,
      name: repo.name,
      full_name: repo.fullName,
      owner: userJson(repo.owner),
      private: repo.private,
      visibility: repo.private ? 'private' : 'public',
      html_url: `${origin}/${repo.fullName}`,
      url: `${origin}/api/v3/repos/${repo.fullName}`,
      clone_url: `${origin}/${repo.fullName}.git`,
      default_branch: repo.defaultBranch,
      // GitHub reports the caller's permissions only for user tokens, not for App installation tokens.
      ...(actor.kind === 'token' && !actor.installation
        ? { permissions: { admin: false, maintain: false, push: access === 'push', triage: access === 'push', pull: true } }
        : {}),
    };
  }

  function pullJson(pr: EmulatedPull, sha: { head?: string; base?: string } = {}) {
    return {
      id: pr.id,
      number: pr.number,
      state: pr.state,
      title: pr.title,
      body: pr.body,
      html_url: pr.htmlUrl,
      url: `${origin}/api/v3/repos/${pr.owner}/${pr.repo}/pulls/${pr.number}`,
      user: userJson(pr.user),
      head: { ref: pr.head, label: `${pr.owner}:${pr.head}`, sha: sha.head ?? null },
      base: { ref: pr.base, label: `${pr.owner}:${pr.base}`, sha: sha.base ?? null },
      draft: false,
      merged: false,
    };
  }

  function commentJson(c: EmulatedComment) {
    return { id: c.id, body: c.body, html_url: c.htmlUrl, user: userJson(c.user) };
  }

  function requirePush(actor: Actor, access: RepoAccess) {
    if (access !== 'push') {
      const message = actor.kind === 'token' && actor.installation ? 'Resource not accessible by integration' : 'Resource not accessible by personal access token';
      throw new HttpError(403, { message, documentation_url: DOCS });
    }
  }

  function loginOf(actor: Actor): string {
    return actor.kind === 'token' ? actor.login : 'ghost';
  }

  async function handleApi(method: string, path: string, params: URLSearchParams, body: Record<string, unknown>, actor: Actor) {
    let m: RegExpExecArray | null;
    const requireApp = () => {
      if (actor.kind !== 'app') {
        throw new HttpError(401, { message: 'A JSON web token could not be decoded', documentation_url: DOCS });
      }
    };

    if (method === 'GET' && path === '/user') {
      if (actor.kind !== 'token') throw new HttpError(401, { message: 'Requires authentication', documentation_url: DOCS });
      return [200, userJson(actor.login)] as const;
    }

    if ((m = /^\/app\/installations\/(\d+)\/access_tokens$/.exec(path)) && method === 'POST') {
      requireApp();
      const installation = opts.app!.installations.find((i) => i.id === Number(m![1]));
      if (!installation) throw notFound();
      const permissions = installation.permissions ?? { contents: 'write', pull_requests: 'write', metadata: 'read' };
      const token = `ghs_${randomBytes(18).toString('base64url')}`;
      const expiresAtMs = now() + ttlMs;
      const access: RepoAccess = permissions.contents === 'write' ? 'push' : 'pull';
      tokens.set(token, {
        login: `${opts.app!.slug ?? 'bgagent'}[bot]`,
        repos: new Map(installation.repos.map((r) => [r.toLowerCase(), access])),
        installation: true,
        expiresAtMs,
      });
      return [
        201,
        { token, expires_at: new Date(expiresAtMs).toISOString().replace(/\.\d{3}Z$/, 'Z'), permissions, repository_selection: 'selected' },
      ] as const;
    }

    if (!(m = /^\/repos\/([^/]+)\/([^/]+)(\/.*)?$/.exec(path))) throw notFound();
    const [, owner = '', name = '', rest = ''] = m;

    if (rest === '/installation' && method === 'GET') {
      requireApp();
      const installation = opts.app!.installations.find((i) => i.repos.some((r) => r.toLowerCase() === `${owner}/${name}`.toLowerCase()));
      if (!installation || !repoOf(owner, name)) throw notFound();
      return [200, { id: installation.id, app_id: opts.app!.id, account: userJson(installation.account), target_type: 'Organization' }] as const;
    }

    const { repo, access } = visibleRepo(actor, owner, name);
    const pullsOfRepo = () => state.pulls.filter((p) => p.owner === repo.owner && p.repo === repo.name);

    if (rest === '' && method === 'GET') return [200, repoJson(repo, actor, access)] as const;

    if (rest === '/pulls' && method === 'GET') {
      const head = params.get('head');
      const base = params.get('base');
      const wanted = params.get('state') ?? 'open';
      const list = pullsOfRepo().filter(
        (p) => (wanted === 'all' || p.state === wanted) && (!head || `${p.owner}:${p.head}` === head) && (!base || p.base === base),
      );
      return [200, list.map((p) => pullJson(p))] as const;
    }

    if (rest === '/pulls' && method === 'POST') {
      requirePush(actor, access);
      const title = typeof body.title === 'string' ? body.title : '';
      const base = typeof body.base === 'string' ? body.base : '';
      let head = typeof body.head === 'string' ? body.head : '';
      if (head.includes(':')) {
        const [headOwner, ref = ''] = head.split(':', 2);
        if (headOwner?.toLowerCase() !== repo.owner.toLowerCase()) throw validationFailed([{ resource: 'PullRequest', field: 'head', code: 'invalid' }]);
        head = ref;
      }
      if (!title) throw validationFailed([{ resource: 'PullRequest', field: 'title', code: 'missing_field' }]);
      const headSha = head ? await branchSha(repo.owner, repo.name, head) : undefined;
      if (!headSha) throw validationFailed([{ resource: 'PullRequest', field: 'head', code: 'invalid' }]);
      const baseSha = base ? await branchSha(repo.owner, repo.name, base) : undefined;
      if (!baseSha) throw validationFailed([{ resource: 'PullRequest', field: 'base', code: 'invalid' }]);
      if (pullsOfRepo().some((p) => p.state === 'open' && p.head === head && p.base === base)) {
        throw validationFailed([{ resource: 'PullRequest', code: 'custom', message: `A pull request already exists for ${repo.owner}:${head}.` }]);
      }
      if ((await commitsBetween(repo, base, head)) === 0) {
        throw validationFailed([{ resource: 'PullRequest', code: 'custom', message: `No commits between ${base} and ${head}` }]);
      }
      const number = (issueCounters.get(repo.fullName) ?? 0) + 1;
      issueCounters.set(repo.fullName, number);
      const pr: EmulatedPull = {
        id: nextId++,
        number,
        owner: repo.owner,
        repo: repo.name,
        title,
        body: typeof body.body === 'string' ? body.body : null,
        head,
        base,
        state: 'open',
        user: loginOf(actor),
        htmlUrl: `${origin}/${repo.fullName}/pull/${number}`,
      };
      state.pulls.push(pr);
      return [201, pullJson(pr, { head: headSha, base: baseSha })] as const;
    }

    if ((m = /^\/pulls\/(\d+)$/.exec(rest))) {
      const pr = pullsOfRepo().find((p) => p.number === Number(m![1]));
      if (!pr) throw notFound();
      if (method === 'GET') return [200, pullJson(pr)] as const;
      if (method === 'PATCH') {
        requirePush(actor, access);
        if (typeof body.title === 'string') pr.title = body.title;
        if (typeof body.body === 'string') pr.body = body.body;
        if (body.state === 'open' || body.state === 'closed') pr.state = body.state;
        return [200, pullJson(pr)] as const;
      }
    }

    if ((m = /^\/issues\/(\d+)\/comments$/.exec(rest))) {
      const issueNumber = Number(m[1]);
      if (!pullsOfRepo().some((p) => p.number === issueNumber)) throw notFound();
      const ofIssue = () => state.comments.filter((c) => c.owner === repo.owner && c.repo === repo.name && c.issueNumber === issueNumber);
      if (method === 'GET') return [200, ofIssue().map(commentJson)] as const;
      if (method === 'POST') {
        if (typeof body.body !== 'string' || !body.body) {
          throw validationFailed([{ resource: 'IssueComment', field: 'body', code: 'missing_field' }]);
        }
        const id = nextId++;
        const comment: EmulatedComment = {
          id,
          owner: repo.owner,
          repo: repo.name,
          issueNumber,
          body: body.body,
          user: loginOf(actor),
          htmlUrl: `${origin}/${repo.fullName}/pull/${issueNumber}#issuecomment-${id}`,
        };
        state.comments.push(comment);
        return [201, commentJson(comment)] as const;
      }
    }
    throw notFound();
  }

  function gitActor(req: IncomingMessage): TokenEntry | undefined {
    const header = req.headers.authorization;
    if (!header?.toLowerCase().startsWith('basic ')) return undefined;
    const decoded = Buffer.from(header.slice(6).trim(), 'base64').toString();
    const colon = decoded.indexOf(':');
    const user = colon < 0 ? decoded : decoded.slice(0, colon);
    const password = colon < 0 ? '' : decoded.slice(colon + 1);
    const entry = tokens.get(password || user);
    if (!entry || (entry.expiresAtMs !== undefined && entry.expiresAtMs <= now())) return undefined;
    return entry;
  }

  async function handleGit(req: IncomingMessage, res: ServerResponse, url: URL, record: (status: number, actor?: string) => void) {
    const m = /^\/([^/]+)\/([^/]+?)\.git(\/.*)$/.exec(url.pathname)!;
    const [, owner = '', name = '', sub = ''] = m;
    const repo = repoOf(owner, name);
    const entry = gitActor(req);
    const text = (status: number, message: string, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': 'text/plain', ...headers });
      res.end(`${message}\n`);
      record(status, entry?.login);
    };
    if (!entry) return text(401, 'Authentication required', { 'www-authenticate': 'Basic realm="GitHub"' });
    const access = repo ? entry.repos.get(repo.fullName.toLowerCase()) : undefined;
    if (!repo || !access) return text(404, 'Repository not found.');
    const push = url.searchParams.get('service') === 'git-receive-pack' || sub === '/git-receive-pack';
    if (push && access !== 'push') return text(403, `Permission to ${repo.fullName}.git denied to ${entry.login}.`);
    if (sub === '/git-receive-pack') await pushHook?.(repo.fullName);
    await serveWithGitHttpBackend(req, res, {
      projectRoot: gitRoot,
      pathInfo: `/${repo.owner}/${repo.name}.git${sub}`,
      query: url.search.replace(/^\?/, ''),
      remoteUser: entry.login,
    });
    record(res.statusCode, entry.login);
  }

  async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString();
    if (!text) return {};
    try {
      const parsed: unknown = JSON.parse(text);
      return typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : {};
    } catch {
      throw new HttpError(400, { message: 'Problems parsing JSON', documentation_url: DOCS });
    }
  }

  const faults = { count: 0, status: 502 };
  let pushHook: ((repo: string) => Promise<void>) | undefined;
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const method = req.method ?? 'GET';
    if (/^\/[^/]+\/[^/]+?\.git\//.test(url.pathname)) {
      const record = (status: number, actor?: string) =>
        calls.push({ kind: 'git', method, path: url.pathname, query: url.search.replace(/^\?/, ''), status, actor });
      handleGit(req, res, url, record).catch((err: unknown) => {
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(String(err));
      });
      return;
    }
    const path = url.pathname.replace(/^\/api\/v3(?=\/)/, '');
    const send = (status: number, body: unknown, actor?: string) => {
      calls.push({ kind: 'api', method, path, query: url.search.replace(/^\?/, ''), status, actor });
      res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
      res.end(JSON.stringify(body));
    };
    if (faults.count > 0) {
      faults.count--;
      send(faults.status, { message: 'Server Error (emulated outage)' });
      return;
    }
    (async () => {
      let actor: Actor = { kind: 'none' };
      try {
        actor = authenticate(req);
        const body = method === 'GET' ? {} : await readJson(req);
        const [status, json] = await handleApi(method, path, url.searchParams, body, actor);
        send(status, json, actor.kind === 'token' ? actor.login : actor.kind === 'app' ? `app:${actor.appId}` : undefined);
      } catch (err) {
        if (err instanceof HttpError) send(err.status, err.body);
        else send(500, { message: String(err) });
      }
    })();
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  async function createRepo(
    owner: string,
    name: string,
    repoOpts: { files?: Record<string, string>; defaultBranch?: string; private?: boolean } = {},
  ): Promise<EmulatedRepo> {
    const defaultBranch = repoOpts.defaultBranch ?? 'main';
    const work = mkdtempSync(join(root, 'work-'));
    const bare = join(gitRoot, owner, `${name}.git`);
    const env = { ...process.env, ...GIT_ENV };
    await run('git', ['init', '-q', '-b', defaultBranch, work], { env });
    for (const [file, content] of Object.entries(repoOpts.files ?? { 'README.md': `# ${name}\n` })) {
      mkdirSync(dirname(join(work, file)), { recursive: true });
      writeFileSync(join(work, file), content);
    }
    await run('git', ['add', '-A'], { cwd: work, env });
    await run('git', ['commit', '-q', '-m', 'initial'], { cwd: work, env });
    await run('git', ['clone', '-q', '--bare', work, bare], { env });
    await run('git', ['config', 'http.receivepack', 'true'], { cwd: bare, env });
    rmSync(work, { recursive: true, force: true });
    const repo: EmulatedRepo = {
      owner,
      name,
      fullName: `${owner}/${name}`,
      id: nextId++,
      defaultBranch,
      private: repoOpts.private ?? true,
      path: bare,
    };
    state.repos[repo.fullName.toLowerCase()] = repo;
    return repo;
  }

  return {
    url: `${origin}/api/v3`,
    gitUrl: (owner, repo) => `${origin}/${owner}/${repo}.git`,
    state,
    calls,
    createRepo,
    branchSha,
    grant,
    failNext: (count, status) => Object.assign(faults, { count, status }),
    beforePush: (hook) => {
      pushHook = hook;
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      rmSync(root, { recursive: true, force: true });
    },
  };
}
