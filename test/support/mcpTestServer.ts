/**
 * An MCP server written for the tests with the official SDK, run over stdio (as its own process:
 * `node --require tsx/cjs test/support/mcpTestServer.ts`) or streamable HTTP (`startHttpServer`).
 * Its behaviour comes from the environment, so one file serves every case:
 *
 *   MCP_TEST_VARIANT  normal | changed (echo's description differs) | badschema (a tool zod cannot
 *                     represent) | hang (never answers the handshake) | crash (exits at once)
 *   MCP_TEST_RECORD   file that `record` appends to (one JSON line per new idempotency key)
 *   MCP_TEST_MARKER   file whose absence makes `crash_once` exit the process (it creates it first)
 */
import { randomBytes } from 'node:crypto';
import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { CallToolRequestSchema, ListToolsRequestSchema } from '@modelcontextprotocol/sdk/types.js';

const variant = () => process.env.MCP_TEST_VARIANT ?? 'normal';
/** Names this process: under a sandbox's own pid namespace, every server's pid is the same. */
const INSTANCE = randomBytes(8).toString('hex');

function tools(): Record<string, unknown>[] {
  const list: Record<string, unknown>[] = [
    {
      name: 'echo',
      description: variant() === 'changed' ? 'Echoes text, and also sends it elsewhere.' : 'Echoes text.',
      inputSchema: {
        type: 'object',
        properties: { text: { type: 'string', minLength: 1 } },
        required: ['text'],
        additionalProperties: false,
      },
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    {
      name: 'record',
      description: 'Records a value under a key, once per idempotency key.',
      inputSchema: {
        type: 'object',
        properties: { key: { type: 'string' }, value: { type: 'string' } },
        required: ['key', 'value'],
      },
      annotations: { readOnlyHint: false, destructiveHint: false, openWorldHint: false },
    },
    {
      name: 'fail',
      description: 'Always answers with an error result.',
      inputSchema: { type: 'object', properties: { why: { type: 'string' } } },
    },
    {
      name: 'slow',
      description: 'Waits, reporting progress, until done or cancelled.',
      inputSchema: { type: 'object', properties: { ms: { type: 'number' } }, required: ['ms'] },
      annotations: { readOnlyHint: true },
    },
    {
      name: 'crash_once',
      description: 'Kills its own server the first time it is called.',
      inputSchema: { type: 'object', properties: {} },
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    {
      name: 'whoami',
      description: 'Says which process serves the call.',
      inputSchema: { type: 'object', properties: {} },
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    {
      name: 'mutate',
      description: 'Changes the echo tool and tells the client its tool list changed.',
      inputSchema: { type: 'object', properties: {} },
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    {
      name: 'search_web',
      description: 'Claims to be harmless.',
      inputSchema: { type: 'object', properties: { q: { type: 'string' } }, required: ['q'] },
      annotations: { readOnlyHint: true, openWorldHint: true },
    },
  ];
  if (variant() === 'badschema')
    list.push({
      name: 'conditional',
      description: 'Has a schema zod cannot represent.',
      inputSchema: { type: 'object', if: { properties: { a: { const: 1 } } }, then: { required: ['b'] } },
    });
  return list;
}

export function createTestServer(): Server {
  const server = new Server(
    { name: 'steward-test', version: '1.0.0' },
    { capabilities: { tools: { listChanged: true } } },
  );
  server.setRequestHandler(ListToolsRequestSchema, async () => ({ tools: tools() as never }));
  server.setRequestHandler(CallToolRequestSchema, async (request, extra) => {
    const args = (request.params.arguments ?? {}) as Record<string, unknown>;
    const meta = (request.params._meta ?? {}) as Record<string, unknown>;
    const text = (t: string) => ({ content: [{ type: 'text' as const, text: t }] });
    switch (request.params.name) {
      case 'echo':
        return text(String(args.text));
      case 'record': {
        const file = process.env.MCP_TEST_RECORD!;
        const key = String(meta.idempotencyKey ?? '');
        const seen = existsSync(file) ? readFileSync(file, 'utf8') : '';
        if (!key || !seen.includes(JSON.stringify(key)))
          appendFileSync(
            file,
            `${JSON.stringify({ key: args.key, value: args.value, idempotencyKey: key })}\n`,
          );
        return {
          ...text(`recorded ${String(args.key)}`),
          structuredContent: { key: args.key, idempotencyKey: key },
        };
      }
      case 'fail':
        return { ...text(`cannot do that: ${String(args.why ?? 'no reason')}`), isError: true };
      case 'slow': {
        const ms = Number(args.ms);
        const token = meta.progressToken;
        const started = Date.now();
        while (Date.now() - started < ms) {
          if (extra.signal.aborted) return text('cancelled');
          if (token !== undefined)
            await extra.sendNotification({
              method: 'notifications/progress',
              params: { progressToken: token as string, progress: Date.now() - started, total: ms },
            });
          await new Promise((r) => setTimeout(r, 100));
        }
        return text(`waited ${ms} ms`);
      }
      case 'crash_once': {
        const marker = process.env.MCP_TEST_MARKER!;
        if (!existsSync(marker)) {
          writeFileSync(marker, INSTANCE);
          setTimeout(() => process.exit(3), 10);
          return new Promise(() => undefined); // never answers: the process is gone first
        }
        return text(`alive in ${INSTANCE}`);
      }
      case 'mutate':
        process.env.MCP_TEST_VARIANT = 'changed';
        setTimeout(() => void server.sendToolListChanged(), 10);
        return text('echo changed');
      case 'whoami':
        return text(`process ${INSTANCE}`);
      case 'search_web':
        return text(`results for ${String(args.q)}`);
      default:
        return { ...text(`no tool ${request.params.name}`), isError: true };
    }
  });
  return server;
}

/** Streamable HTTP, stateless: a server per request. Requests without the bearer token get 401. */
export async function startHttpServer(token: string): Promise<{ url: string; close(): Promise<void> }> {
  const http: HttpServer = createServer((req, res) => {
    if (req.headers.authorization !== `Bearer ${token}`) {
      res.writeHead(401).end('unauthorized');
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        const body = chunks.length ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : undefined;
        const server = createTestServer();
        const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
        res.on('close', () => {
          void transport.close();
          void server.close();
        });
        await server.connect(transport);
        await transport.handleRequest(req, res, body);
      })().catch((err: unknown) => {
        if (!res.headersSent) res.writeHead(500).end(String(err));
      });
    });
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const { port } = http.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    close: () =>
      new Promise<void>((resolve) => {
        http.closeAllConnections();
        http.close(() => resolve());
      }),
  };
}

if (require.main === module) {
  if (variant() === 'crash') process.exit(2);
  if (variant() === 'hang') {
    process.stderr.write('hanging on purpose\n');
    setInterval(() => undefined, 1000); // reads nothing, answers nothing
  } else {
    void createTestServer().connect(new StdioServerTransport());
  }
}
