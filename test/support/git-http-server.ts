import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serveWithGitHttpBackend } from './github/git-http-backend.js';

export interface GitHttpServer {
  /** Base URL without a trailing slash; a repository `<root>/x.git` is served at `${url}/x.git`. */
  url: string;
  /** Each request, in order: its path and whether it carried the right token. */
  requests: Array<{ method: string; path: string; authorized: boolean }>;
  close(): Promise<void>;
}

/**
 * Serves the bare repositories under `root` with `git http-backend` on 127.0.0.1, fetch and push, to a
 * client that sends the token as the password of HTTP Basic auth (any user name). Others get 401.
 */
export async function startGitHttpServer(opts: { root: string; token: string }): Promise<GitHttpServer> {
  const requests: GitHttpServer['requests'] = [];
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const user = basicAuthUser(req.headers.authorization, opts.token);
    requests.push({ method: req.method ?? 'GET', path: url.pathname, authorized: user !== undefined });
    if (user === undefined) {
      res.writeHead(401, { 'content-type': 'text/plain', 'www-authenticate': 'Basic realm="git"' });
      res.end('Authentication required\n');
      return;
    }
    serveWithGitHttpBackend(req, res, {
      projectRoot: opts.root,
      pathInfo: decodeURIComponent(url.pathname),
      query: url.search.replace(/^\?/, ''),
      remoteUser: user || 'git',
    }).catch(() => res.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The user name of a Basic header whose password is the token; undefined when absent or wrong. */
function basicAuthUser(header: string | undefined, token: string): string | undefined {
  if (!header?.toLowerCase().startsWith('basic ')) return undefined;
  const decoded = Buffer.from(header.slice(6).trim(), 'base64').toString();
  const colon = decoded.indexOf(':');
  if (colon < 0 || decoded.slice(colon + 1) !== token) return undefined;
  return decoded.slice(0, colon);
}
