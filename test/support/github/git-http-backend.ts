import { spawn } from 'node:child_process';
import type { IncomingMessage, ServerResponse } from 'node:http';

export interface GitHttpBackendRequest {
  /** The directory that holds the bare repositories. */
  projectRoot: string;
  /** The path under projectRoot, e.g. `/owner/name.git/info/refs`. */
  pathInfo: string;
  /** The raw query string without `?`. */
  query: string;
  /** The authenticated user; git http-backend enables receive-pack only for an authenticated user. */
  remoteUser: string;
}

/** Serves one request with `git http-backend` as a CGI program: the request body in, the CGI response out. */
export function serveWithGitHttpBackend(req: IncomingMessage, res: ServerResponse, cgi: GitHttpBackendRequest): Promise<void> {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    GIT_PROJECT_ROOT: cgi.projectRoot,
    GIT_HTTP_EXPORT_ALL: '1',
    GIT_CONFIG_NOSYSTEM: '1',
    PATH_INFO: cgi.pathInfo,
    QUERY_STRING: cgi.query,
    REQUEST_METHOD: req.method ?? 'GET',
    CONTENT_TYPE: req.headers['content-type'] ?? '',
    REMOTE_USER: cgi.remoteUser,
    REMOTE_ADDR: '127.0.0.1',
  };
  if (req.headers['content-length']) env.CONTENT_LENGTH = req.headers['content-length'];
  if (req.headers['content-encoding']) env.HTTP_CONTENT_ENCODING = req.headers['content-encoding'];
  if (req.headers['git-protocol']) env.GIT_PROTOCOL = String(req.headers['git-protocol']);

  return new Promise((resolve) => {
    const child = spawn('git', ['http-backend'], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let head = Buffer.alloc(0);
    let headersSent = false;
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout.on('data', (chunk: Buffer) => {
      if (headersSent) {
        res.write(chunk);
        return;
      }
      head = Buffer.concat([head, chunk]);
      const crlf = head.indexOf('\r\n\r\n');
      const lf = head.indexOf('\n\n');
      const end = crlf >= 0 && (lf < 0 || crlf < lf) ? crlf : lf;
      if (end < 0) return;
      const sepLength = end === crlf ? 4 : 2;
      let status = 200;
      for (const line of head.subarray(0, end).toString().split(/\r?\n/)) {
        const colon = line.indexOf(':');
        if (colon < 0) continue;
        const name = line.slice(0, colon).trim();
        const value = line.slice(colon + 1).trim();
        if (name.toLowerCase() === 'status') status = Number.parseInt(value, 10) || 200;
        else res.setHeader(name, value);
      }
      res.statusCode = status;
      headersSent = true;
      const rest = head.subarray(end + sepLength);
      if (rest.length) res.write(rest);
    });
    child.on('close', (code) => {
      if (!headersSent) {
        res.statusCode = 500;
        res.setHeader('content-type', 'text/plain');
        res.write(`git http-backend failed (exit ${code}): ${stderr}`);
      }
      res.end();
      resolve();
    });
    child.stdin.on('error', () => {});
    req.pipe(child.stdin);
  });
}
