import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A scripted Anthropic Messages API for tests: Claude Code (the real binary) talks to it through
 * ANTHROPIC_BASE_URL. Each main-conversation request consumes the next turn of the script; side
 * requests (title generation, quota probes, ...) are answered with a short text and consume nothing.
 */

export interface ScriptedUsage {
  input_tokens: number;
  output_tokens: number;
}

export type ScriptTurn =
  /** A text-only reply that ends the agent's turn (end_turn). */
  | { text: string; usage?: ScriptedUsage }
  /** Optional text, then one or more tool calls (stop_reason tool_use). */
  | { text?: string; toolUse: ScriptedToolUse | ScriptedToolUse[]; usage?: ScriptedUsage }
  /** The final answer: text and end_turn. */
  | { finish: string; usage?: ScriptedUsage }
  /** An API error answer, e.g. { status: 401, type: 'authentication_error', message: 'invalid x-api-key' }. */
  | { error: { status: number; type: string; message: string } };

export interface ScriptedToolUse {
  name: string;
  input: Record<string, unknown>;
}

export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  /** The parsed JSON body, or the raw text when it is not JSON. */
  body: unknown;
  /** 'conversation' consumed a script turn; 'side' was a non-conversation model call; 'other' anything else. */
  kind: 'conversation' | 'side' | 'other';
}

export interface ScriptedModel {
  /** Base URL for ANTHROPIC_BASE_URL. */
  url: string;
  requests: RecordedRequest[];
  /** The main-conversation requests only, in order. */
  conversationRequests(): RecordedRequest[];
  /** How many script turns are still unused. */
  remainingTurns(): number;
  close(): Promise<void>;
}

/** Usage reported when a turn gives none: enough tokens that the SDK's cost is above zero. */
export const DEFAULT_USAGE: ScriptedUsage = { input_tokens: 1000, output_tokens: 200 };

const EXHAUSTED_TEXT = 'The script has no more turns.';

export async function startScriptedModel(script: ScriptTurn[]): Promise<ScriptedModel> {
  const turns = [...script];
  const requests: RecordedRequest[] = [];
  let messageCounter = 0;
  let toolCounter = 0;

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      let body: unknown = raw;
      try {
        body = raw ? JSON.parse(raw) : undefined;
      } catch {
        // keep the raw text
      }
      const path = (req.url ?? '/').split('?')[0] ?? '/';
      const record: RecordedRequest = { method: req.method ?? 'GET', path, headers: req.headers, body, kind: 'other' };
      requests.push(record);

      if (req.method === 'POST' && path === '/v1/messages/count_tokens') {
        return sendJson(res, 200, { input_tokens: 100 });
      }
      if (req.method === 'POST' && path === '/v1/messages' && isObject(body)) {
        const model = typeof body.model === 'string' ? body.model : 'claude-scripted';
        const stream = body.stream === true;
        if (!isConversation(body)) {
          record.kind = 'side';
          return sendMessage(res, stream, nextId(), model, [{ type: 'text', text: 'ok' }], 'end_turn', { input_tokens: 10, output_tokens: 2 });
        }
        record.kind = 'conversation';
        const turn = turns.shift() ?? { finish: EXHAUSTED_TEXT };
        if ('error' in turn) {
          return sendJson(res, turn.error.status, { type: 'error', error: { type: turn.error.type, message: turn.error.message } });
        }
        const usage = turn.usage ?? DEFAULT_USAGE;
        if ('toolUse' in turn) {
          const calls = Array.isArray(turn.toolUse) ? turn.toolUse : [turn.toolUse];
          const content: ContentBlock[] = [];
          if (turn.text) content.push({ type: 'text', text: turn.text });
          for (const call of calls) content.push({ type: 'tool_use', id: `toolu_scripted_${++toolCounter}`, name: call.name, input: call.input });
          return sendMessage(res, stream, nextId(), model, content, 'tool_use', usage);
        }
        const text = 'finish' in turn ? turn.finish : turn.text;
        return sendMessage(res, stream, nextId(), model, [{ type: 'text', text }], 'end_turn', usage);
      }
      sendJson(res, 404, { type: 'error', error: { type: 'not_found_error', message: `no route for ${req.method} ${path}` } });
    });
  });

  function nextId(): string {
    return `msg_scripted_${++messageCounter}`;
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    conversationRequests: () => requests.filter((r) => r.kind === 'conversation'),
    remainingTurns: () => turns.length,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

type ContentBlock = { type: 'text'; text: string } | { type: 'tool_use'; id: string; name: string; input: Record<string, unknown> };

/**
 * The main conversation carries the agent's tools (Bash, Write, ...); side calls such as title
 * generation or a quota probe are sent without tools.
 */
function isConversation(body: Record<string, unknown>): boolean {
  return Array.isArray(body.tools) && body.tools.length > 0;
}

function sendMessage(
  res: ServerResponse,
  stream: boolean,
  id: string,
  model: string,
  content: ContentBlock[],
  stopReason: 'end_turn' | 'tool_use',
  usage: ScriptedUsage,
): void {
  const message = { id, type: 'message', role: 'assistant', model, content, stop_reason: stopReason, stop_sequence: null, usage };
  if (!stream) return sendJson(res, 200, message);

  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', 'request-id': `req_${id}` });
  const event = (type: string, data: Record<string, unknown>): void => {
    res.write(`event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`);
  };
  event('message_start', {
    message: { ...message, content: [], stop_reason: null, usage: { input_tokens: usage.input_tokens, output_tokens: 1 } },
  });
  content.forEach((block, index) => {
    if (block.type === 'text') {
      event('content_block_start', { index, content_block: { type: 'text', text: '' } });
      event('content_block_delta', { index, delta: { type: 'text_delta', text: block.text } });
    } else {
      event('content_block_start', { index, content_block: { type: 'tool_use', id: block.id, name: block.name, input: {} } });
      event('content_block_delta', { index, delta: { type: 'input_json_delta', partial_json: JSON.stringify(block.input) } });
    }
    event('content_block_stop', { index });
  });
  event('message_delta', { delta: { stop_reason: stopReason, stop_sequence: null }, usage: { output_tokens: usage.output_tokens } });
  event('message_stop', {});
  res.end();
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
