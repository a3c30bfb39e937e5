import { createServer, type Server } from 'node:http';

/**
 * A local OpenAI-compatible server for W5: every POST to /chat/completions is answered after a fixed
 * delay with a tool call. A conversation that already holds `finishAfter` tool results gets a call of
 * `finish`; the others get a call of `tool` with the next step number. Listens on 127.0.0.1 only.
 */
export class BenchModelServer {
  url = '';
  requests = 0;
  inFlight = 0;
  maxInFlight = 0;
  private server?: Server;

  constructor(private readonly options: { delayMs: number; tool: string; finishAfter: number }) {}

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        this.requests++;
        this.inFlight++;
        this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
        let toolResults = 0;
        let model = 'bench';
        try {
          const body = JSON.parse(Buffer.concat(chunks).toString()) as {
            model?: string;
            messages?: Array<{ role: string }>;
          };
          model = body.model ?? model;
          toolResults = (body.messages ?? []).filter((m) => m.role === 'tool').length;
        } catch {
          // a malformed body still gets an answer: the bench measures orchestration, not parsing
        }
        const done = toolResults >= this.options.finishAfter;
        const call = done
          ? { name: 'finish', arguments: JSON.stringify({ result: 'ok' }) }
          : { name: this.options.tool, arguments: JSON.stringify({ step: toolResults + 1 }) };
        const answer = JSON.stringify({
          id: `chatcmpl-${this.requests}`,
          object: 'chat.completion',
          created: Math.floor(Date.now() / 1000),
          model,
          choices: [
            {
              index: 0,
              finish_reason: 'tool_calls',
              message: {
                role: 'assistant',
                content: null,
                tool_calls: [{ id: `call_${this.requests}`, type: 'function', function: call }],
              },
            },
          ],
          usage: { prompt_tokens: 20, completion_tokens: 5, total_tokens: 25 },
        });
        setTimeout(() => {
          this.inFlight--;
          res.writeHead(200, { 'content-type': 'application/json' }).end(answer);
        }, this.options.delayMs);
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    const { port } = this.server.address() as { port: number };
    this.url = `http://127.0.0.1:${port}/v1`;
    return this;
  }

  resetCounters(): void {
    this.requests = 0;
    this.maxInFlight = this.inFlight;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
