import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

/**
 * A real local HTTP server that speaks OpenAI's chat completions and misbehaves on cue: each request
 * takes the next scripted reply (a tool call, text, an HTTP error, a stall, a trickled body,
 * malformed JSON, impossible usage).
 */
export type Reply =
  | { tool: string; args: unknown; usage?: { prompt: number; completion: number } }
  /** `rawUsage` is sent as the `usage` field verbatim (left out when undefined). */
  | { text: string; usage?: { prompt: number; completion: number }; rawUsage?: unknown }
  /** `body` may be made from the request (e.g. to echo its Authorization header). */
  | {
      status: number;
      headers?: Record<string, string>;
      body?: string | ((request: ReceivedRequest) => string);
    }
  | { stallMs: number; then?: Reply }
  /** Headers at once, then one space every `trickleMs` for `bytes` bytes, then a text answer. */
  | { trickleMs: number; bytes: number }
  | { malformed: true }
  | { rawArgs: string; tool: string };

export interface ReceivedRequest {
  body: {
    model: string;
    messages: Array<{ role: string; content: string | null; tool_calls?: unknown[]; tool_call_id?: string }>;
    tools?: Array<{ function: { name: string; parameters: unknown } }>;
    max_tokens?: number;
  };
  headers: IncomingMessage['headers'];
  at: number;
}

/** Waits `ms`, or less if the client hangs up (so no timer outlives the request). */
function pause(ms: number, res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    res.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

export class MockOpenAI {
  readonly requests: ReceivedRequest[] = [];
  private script: Reply[] = [];
  private fallback: Reply = { status: 500 };
  private server?: Server;
  private readonly open = new Set<ServerResponse>();
  url = '';

  /** Replies for the next requests, in order; `otherwise` answers every request after them. */
  reply(...replies: Reply[]): this {
    this.script.push(...replies);
    return this;
  }

  otherwise(reply: Reply): this {
    this.fallback = reply;
    return this;
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    const { port } = this.server.address() as { port: number };
    this.url = `http://127.0.0.1:${port}/v1`;
    return this;
  }

  /** Forgets what earlier tests scripted. */
  reset(): this {
    this.script = [];
    this.fallback = { status: 500 };
    return this;
  }

  async stop(): Promise<void> {
    for (const res of this.open) res.destroy();
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()) ?? resolve());
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let raw = '';
    for await (const chunk of req) raw += chunk;
    if (req.url !== '/v1/chat/completions' || req.method !== 'POST') {
      res.writeHead(404).end('{"error":{"message":"not found"}}');
      return;
    }
    const request: ReceivedRequest = {
      body: JSON.parse(raw) as ReceivedRequest['body'],
      headers: req.headers,
      at: Date.now(),
    };
    this.requests.push(request);
    this.open.add(res);
    res.on('close', () => this.open.delete(res));
    await this.answer(this.script.shift() ?? this.fallback, request, res);
  }

  private async answer(reply: Reply, request: ReceivedRequest, res: ServerResponse): Promise<void> {
    const { body } = request;
    if ('stallMs' in reply) {
      await pause(reply.stallMs, res);
      if (res.destroyed) return;
      return this.answer(reply.then ?? { text: 'late' }, request, res);
    }
    if ('trickleMs' in reply) {
      res.writeHead(200, { 'content-type': 'application/json' });
      for (let i = 0; i < reply.bytes; i++) {
        if (res.destroyed) return;
        res.write(' '); // JSON allows leading whitespace: the body stays valid, just slow
        await pause(reply.trickleMs, res);
      }
      if (res.destroyed) return;
      res.end(JSON.stringify(this.completion(body, { role: 'assistant', content: 'late' }, 'stop')));
      return;
    }
    if ('status' in reply) {
      res.writeHead(reply.status, { 'content-type': 'application/json', ...reply.headers });
      const text = typeof reply.body === 'function' ? reply.body(request) : reply.body;
      res.end(text ?? `{"error":{"message":"status ${reply.status}"}}`);
      return;
    }
    if ('malformed' in reply) {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"id": "x", "choices": [ {"message": ');
      return;
    }
    const usage = 'usage' in reply && reply.usage ? reply.usage : { prompt: 40, completion: 10 };
    const message =
      'text' in reply
        ? { role: 'assistant', content: reply.text }
        : {
            role: 'assistant',
            content: null,
            tool_calls: [
              {
                id: `call_${this.requests.length}`,
                type: 'function',
                function: {
                  name: reply.tool,
                  arguments: 'rawArgs' in reply ? reply.rawArgs : JSON.stringify(reply.args),
                },
              },
            ],
          };
    const usageField =
      'rawUsage' in reply
        ? reply.rawUsage
        : {
            prompt_tokens: usage.prompt,
            completion_tokens: usage.completion,
            total_tokens: usage.prompt + usage.completion,
          };
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify(this.completion(body, message, 'text' in reply ? 'stop' : 'tool_calls', usageField)),
    );
  }

  private completion(body: ReceivedRequest['body'], message: unknown, finishReason: string, usage?: unknown) {
    return {
      id: `chatcmpl-${this.requests.length}`,
      object: 'chat.completion',
      created: Math.floor(Date.now() / 1000),
      model: body.model,
      choices: [{ index: 0, message, finish_reason: finishReason }],
      usage,
    };
  }
}
