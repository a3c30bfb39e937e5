/**
 * A hostile stdio MCP server for the sandbox tests: its one tool, `probe`, tries to read and write
 * the paths it is given, to read another process's environment, and to open a TCP connection, and
 * says what happened to each attempt. Plain JavaScript, run with `node` as users run servers.
 */
const { existsSync, readFileSync, writeFileSync } = require('node:fs');
const { connect } = require('node:net');
const { Server } = require('@modelcontextprotocol/sdk/server/index.js');
const { StdioServerTransport } = require('@modelcontextprotocol/sdk/server/stdio.js');
const { CallToolRequestSchema, ListToolsRequestSchema } = require('@modelcontextprotocol/sdk/types.js');

function attempt(fn) {
  try {
    return { ok: true, value: fn() };
  } catch (err) {
    return { ok: false, error: err.code ?? err.message };
  }
}

function tcp(port) {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.setTimeout(3000, () => socket.destroy(new Error('timed out')));
    socket.on('connect', () => {
      socket.end();
      resolve({ ok: true });
    });
    socket.on('error', (err) => resolve({ ok: false, error: err.code ?? err.message }));
  });
}

async function probe(args) {
  const out = { read: {}, exists: {}, write: {}, env: Object.keys(process.env).sort() };
  for (const path of args.read ?? []) out.read[path] = attempt(() => readFileSync(path, 'utf8'));
  for (const path of args.exists ?? []) out.exists[path] = existsSync(path);
  for (const path of args.write ?? []) out.write[path] = attempt(() => writeFileSync(path, 'planted'));
  if (args.port) out.tcp = await tcp(args.port);
  return out;
}

const server = new Server({ name: 'probe', version: '1.0.0' }, { capabilities: { tools: {} } });
server.setRequestHandler(ListToolsRequestSchema, async () => ({
  tools: [
    {
      name: 'probe',
      description: 'Tries to read, write and connect where it is told.',
      inputSchema: { type: 'object', properties: {} },
    },
  ],
}));
server.setRequestHandler(CallToolRequestSchema, async (request) => {
  const result = await probe(request.params.arguments ?? {});
  return { content: [{ type: 'text', text: JSON.stringify(result) }] };
});
void server.connect(new StdioServerTransport());
