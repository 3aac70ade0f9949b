import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createLogger, type Logger } from '../../src/log.js';

export interface StubRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  json: Record<string, unknown>;
}

export interface StubReply {
  status: number;
  headers?: Record<string, string>;
  body?: unknown;
  /** Drop the connection instead of answering (a network error). */
  destroy?: boolean;
}

export interface AwsStub {
  endpoint: string;
  requests: StubRequest[];
  close(): Promise<void>;
}

/** A local HTTP server that answers like an AWS service; `handle` decides each reply. */
export async function startAwsStub(handle: (req: StubRequest) => StubReply): Promise<AwsStub> {
  const requests: StubRequest[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      const r: StubRequest = { method: req.method ?? '', path: req.url ?? '', headers: req.headers, body, json: body ? (JSON.parse(body) as Record<string, unknown>) : {} };
      requests.push(r);
      const reply = handle(r);
      if (reply.destroy) return void req.socket.destroy();
      const payload = reply.body === undefined ? '' : JSON.stringify(reply.body);
      res.writeHead(reply.status, { 'content-type': 'application/json', 'x-amzn-requestid': 'stub-request-id', ...reply.headers });
      res.end(payload);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export const FAKE_AWS_CREDENTIALS = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' };

export interface LogLine {
  level: number;
  msg: string;
  [k: string]: unknown;
}

/** A real pino logger (the app's createLogger) writing JSON lines into memory. */
export function capturedLogger(): { logger: Logger; lines: LogLine[]; text: () => string } {
  const chunks: string[] = [];
  // pino accepts any object with write(); this one is synchronous, so lines are there when the call returns.
  const destination = { write: (s: string) => chunks.push(s) } as unknown as NodeJS.WritableStream;
  const logger = createLogger({ level: 'debug', destination });
  const text = () => chunks.join('');
  return {
    logger,
    get lines() {
      return text()
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as LogLine);
    },
    text,
  };
}

export const LEVEL = { info: 30, warn: 40, error: 50 } as const;
