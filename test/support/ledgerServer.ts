import { createServer, type Server } from 'node:http';

/**
 * A real local service with side effects, like a payments API: each POST /charges with a new
 * Idempotency-Key takes effect once; a repeated key returns the first answer and changes nothing.
 */
export class LedgerServer {
  readonly effects = new Map<string, { id: number; body: unknown }>();
  requests = 0;
  url = '';
  private server?: Server;
  private listeners: Array<() => void> = [];

  onRequest(listener: () => void): void {
    this.listeners.push(listener);
  }

  async start(): Promise<this> {
    this.server = createServer(async (req, res) => {
      let raw = '';
      for await (const chunk of req) raw += chunk;
      this.requests++;
      const key = req.headers['idempotency-key'];
      if (typeof key !== 'string' || !key) {
        res.writeHead(400).end('{"error":"Idempotency-Key required"}');
        return;
      }
      if (!this.effects.has(key)) this.effects.set(key, { id: this.effects.size + 1, body: JSON.parse(raw) });
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ chargeId: this.effects.get(key)!.id }));
      for (const l of this.listeners) l();
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as { port: number }).port}`;
    return this;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()) ?? resolve());
  }
}
