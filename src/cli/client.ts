import { existsSync, readFileSync } from 'node:fs';
import { loadConfig } from '../config/config.js';
import { adminTokenPath } from '../server/admin-token.js';

/** An error the CLI prints as one line and exits non-zero for. */
export class CliError extends Error {
  override name = 'CliError';
  constructor(
    message: string,
    readonly code?: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

export interface ApiClientOptions {
  baseUrl: string;
  token: string | undefined;
}

/** Where the CLI finds the server and its token: BGAGENT_URL, BGAGENT_TOKEN, else the data dir's admin token. */
export function clientOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): ApiClientOptions {
  const baseUrl = (env.BGAGENT_URL ?? 'http://127.0.0.1:8080').replace(/\/+$/, '');
  let token = env.BGAGENT_TOKEN;
  if (!token) {
    const path = adminTokenPath(loadConfig(env).dataDir);
    if (existsSync(path)) token = readFileSync(path, 'utf8').trim();
  }
  return { baseUrl, token };
}

export class ApiClient {
  constructor(private readonly opts: ApiClientOptions) {}

  get baseUrl(): string {
    return this.opts.baseUrl;
  }

  private headers(extra: Record<string, string> = {}): Record<string, string> {
    if (!this.opts.token) {
      throw new CliError('no API token: set BGAGENT_TOKEN, or run on the machine where `bgagent serve` created its admin token');
    }
    return { authorization: `Bearer ${this.opts.token}`, ...extra };
  }

  async request<T>(method: string, path: string, body?: unknown, extraHeaders: Record<string, string> = {}): Promise<{ status: number; headers: Headers; data: T }> {
    const headers = this.headers(body === undefined ? extraHeaders : { 'content-type': 'application/json', ...extraHeaders });
    let res: Response;
    try {
      res = await fetch(`${this.opts.baseUrl}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    } catch (err) {
      throw new CliError(`cannot reach bgagent at ${this.opts.baseUrl} (${(err as Error).cause ?? (err as Error).message}); is \`bgagent serve\` running? (BGAGENT_URL)`);
    }
    const text = await res.text();
    let data: unknown = undefined;
    try {
      data = text ? JSON.parse(text) : undefined;
    } catch {
      data = undefined;
    }
    if (!res.ok) {
      const error = (data as { error?: { code?: string; message?: string; request_id?: string } } | undefined)?.error;
      const message = error?.message ?? `HTTP ${res.status} from ${path}`;
      throw new CliError(`${message}${error?.code ? ` (${error.code})` : ''}`, error?.code);
    }
    return { status: res.status, headers: res.headers, data: data as T };
  }

  get<T>(path: string) {
    return this.request<T>('GET', path).then((r) => r.data);
  }

  /** Opens the task's server-sent event stream; yields parsed events until the stream ends. */
  async *streamEvents(taskId: string, after = 0): AsyncGenerator<{ event: string; id?: string; data: unknown }> {
    let res: Response;
    try {
      res = await fetch(`${this.opts.baseUrl}/v1/tasks/${encodeURIComponent(taskId)}/events?after=${after}`, {
        headers: this.headers({ accept: 'text/event-stream' }),
      });
    } catch (err) {
      throw new CliError(`cannot reach bgagent at ${this.opts.baseUrl} (${(err as Error).message})`);
    }
    if (!res.ok || !res.body) {
      const text = await res.text();
      let message = `HTTP ${res.status}`;
      try {
        message = (JSON.parse(text) as { error: { message: string } }).error.message;
      } catch {
        // not an envelope
      }
      throw new CliError(message);
    }
    const decoder = new TextDecoder();
    let buffer = '';
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      buffer += decoder.decode(chunk, { stream: true });
      let sep: number;
      while ((sep = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, sep);
        buffer = buffer.slice(sep + 2);
        const fields: Record<string, string> = {};
        for (const line of block.split('\n')) {
          if (line.startsWith(':')) continue;
          const i = line.indexOf(':');
          if (i > 0) fields[line.slice(0, i)] = line.slice(i + 1).trimStart();
        }
        if (!fields.data) continue;
        yield { event: fields.event ?? 'message', id: fields.id, data: JSON.parse(fields.data) };
      }
    }
  }
}
