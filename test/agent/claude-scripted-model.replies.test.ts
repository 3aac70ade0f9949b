import { afterEach, describe, expect, it } from 'vitest';
import { startScriptedModel, type ScriptedModel } from '../support/anthropic/scripted-server.js';

const tools = [{ name: 'Bash', description: 'run', input_schema: { type: 'object' } }];

async function post(model: ScriptedModel, path: string, body: unknown): Promise<Response> {
  return fetch(`${model.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': 'k1' }, body: JSON.stringify(body) });
}

describe('the scripted Anthropic Messages API', () => {
  let model: ScriptedModel | undefined;
  afterEach(async () => model?.close());

  it('answers plain JSON turns in script order and records every request', async () => {
    model = await startScriptedModel([
      { text: 'Looking.', toolUse: { name: 'Bash', input: { command: 'ls' } }, usage: { input_tokens: 7, output_tokens: 3 } },
      { finish: 'All done.' },
    ]);
    const first = await (await post(model, '/v1/messages?beta=true', { model: 'm1', tools, messages: [] })).json();
    const second = await (await post(model, '/v1/messages', { model: 'm1', tools, messages: [] })).json();
    const third = await (await post(model, '/v1/messages', { model: 'm1', tools, messages: [] })).json();

    expect(first).toMatchObject({
      model: 'm1',
      stop_reason: 'tool_use',
      usage: { input_tokens: 7, output_tokens: 3 },
      content: [{ type: 'text', text: 'Looking.' }, { type: 'tool_use', name: 'Bash', input: { command: 'ls' } }],
    });
    expect(second).toMatchObject({ stop_reason: 'end_turn', content: [{ type: 'text', text: 'All done.' }] });
    expect(third).toMatchObject({ stop_reason: 'end_turn', content: [{ type: 'text', text: 'The script has no more turns.' }] });
    expect(model.requests.map((r) => [r.path, r.kind, r.headers['x-api-key']])).toEqual([
      ['/v1/messages', 'conversation', 'k1'],
      ['/v1/messages', 'conversation', 'k1'],
      ['/v1/messages', 'conversation', 'k1'],
    ]);
  });

  it('streams a turn as server-sent events that add up to the message', async () => {
    model = await startScriptedModel([{ toolUse: { name: 'Write', input: { file_path: '/x', content: 'y' } } }]);
    const res = await post(model, '/v1/messages', { model: 'm1', stream: true, tools, messages: [] });
    const text = await res.text();

    expect(res.headers.get('content-type')).toBe('text/event-stream');
    const events = text
      .split('\n\n')
      .filter(Boolean)
      .map((chunk) => JSON.parse(chunk.split('\n')[1]!.slice('data: '.length)) as Record<string, any>);
    expect(events.map((e) => e.type)).toEqual([
      'message_start',
      'content_block_start',
      'content_block_delta',
      'content_block_stop',
      'message_delta',
      'message_stop',
    ]);
    expect(events[1]).toMatchObject({ content_block: { type: 'tool_use', name: 'Write' } });
    expect(JSON.parse(events[2]!.delta.partial_json)).toEqual({ file_path: '/x', content: 'y' });
    expect(events[4]).toMatchObject({ delta: { stop_reason: 'tool_use' }, usage: { output_tokens: 200 } });
  });

  it('answers side calls without tools, token counts and unknown routes without using the script', async () => {
    model = await startScriptedModel([{ finish: 'main' }]);
    const side = await (await post(model, '/v1/messages', { model: 'haiku', messages: [{ role: 'user', content: 'title?' }] })).json();
    const count = await (await post(model, '/v1/messages/count_tokens', { model: 'm1', messages: [] })).json();
    const unknown = await post(model, '/v1/other', {});
    const error = await startScriptedModel([{ error: { status: 401, type: 'authentication_error', message: 'invalid x-api-key' } }]);
    const rejected = await post(error, '/v1/messages', { model: 'm1', tools, messages: [] });
    await error.close();

    expect(side).toMatchObject({ content: [{ type: 'text', text: 'ok' }] });
    expect(count).toEqual({ input_tokens: 100 });
    expect(unknown.status).toBe(404);
    expect(rejected.status).toBe(401);
    expect(await rejected.json()).toEqual({ type: 'error', error: { type: 'authentication_error', message: 'invalid x-api-key' } });
    expect(model.remainingTurns()).toBe(1);
    expect(model.requests.map((r) => r.kind)).toEqual(['side', 'other', 'other']);
  });
});
