import { CancelledFailure, type Logger as TemporalLogger } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import pino from 'pino';
import { createActivities } from '../../src/activities';
import { mcpServerSchema, type McpServerConfig } from '../../src/config/mcpSchema';
import type { ModelProvider } from '../../src/providers/types';
import { BlobStore } from '../../src/stores/blobStore';
import { acceptMcpServer } from '../../src/tools/mcp/accept';
import { mcpDefinitionHash, pinFilePath, readPins } from '../../src/tools/mcp/pins';
import { McpTools } from '../../src/tools/mcp/source';
import { WorkerToolRegistry } from '../../src/tools/workerRegistry';
import type { ToolStepInput, ToolStepOutput } from '../../src/workflows/contract';
import { failureOf } from '../support/failures';
import { startHttpServer } from '../support/mcpTestServer';

const REPO = resolve(__dirname, '../..');
const TSX = require.resolve('tsx/cjs', { paths: [REPO] });
const SERVER = join(REPO, 'test', 'support', 'mcpTestServer.ts');
const silent: TemporalLogger = { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} };
const logger = pino({ level: 'silent' });

let dir: string;
/** Where the test server writes (outside the data directory, which its sandbox masks). */
let scratch: string;
const opened: McpTools[] = [];

/** The test server over stdio, as a config entry; `variant` names the env var that selects its behaviour. */
function stdioServer(extra: Record<string, unknown> = {}): McpServerConfig {
  return mcpServerSchema.parse({
    command: process.execPath,
    args: ['--require', TSX, SERVER],
    env: { MCP_TEST_RECORD: 'TEST_MCP_RECORD', MCP_TEST_MARKER: 'TEST_MCP_MARKER' },
    sandbox: { writable: [scratch] },
    connectTimeoutSeconds: 20,
    ...extra,
  });
}

async function connect(servers: Record<string, McpServerConfig>): Promise<McpTools> {
  const tools = await McpTools.connect(servers, { dataDir: dir, logger });
  opened.push(tools);
  return tools;
}

function activitiesFor(tools: McpTools) {
  const registry = new WorkerToolRegistry().register(...tools.tools());
  registry.explainMissing((name) => tools.reasonFor(name));
  return {
    registry,
    runTool: (
      input: Partial<ToolStepInput> & { tool: string; input: unknown },
      env?: MockActivityEnvironment,
    ): Promise<ToolStepOutput> =>
      (env ?? new MockActivityEnvironment(undefined, { logger: silent })).run(
        createActivities({
          providers: new Map<string, ModelProvider>(),
          tools: registry,
          blobs: new BlobStore(join(dir, 'blobs')),
          logger,
        }).runTool,
        { taskId: 'wf-1', step: 1, idempotencyKey: 'wf-1:1', ...input },
      ),
  };
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'steward-mcp-'));
  scratch = mkdtempSync(join(tmpdir(), 'steward-mcp-scratch-'));
  process.env.TEST_MCP_RECORD = join(scratch, 'record.jsonl');
  process.env.TEST_MCP_MARKER = join(scratch, 'crashed');
});
afterEach(async () => {
  await Promise.all(opened.splice(0).map((t) => t.close()));
  rmSync(dir, { recursive: true, force: true });
  rmSync(scratch, { recursive: true, force: true });
});

describe('MCP tools over stdio (a server written for the tests with the SDK)', () => {
  test('a server nobody accepted yet offers nothing; once accepted its tools run as activities', async () => {
    const servers = { test: stdioServer() };
    const before = await connect(servers);
    expect(before.tools()).toEqual([]);
    expect(before.reasonFor('test__echo')).toBe(
      'MCP server test has not been accepted yet: review it and run `steward tools accept test`',
    );
    const accepted = await acceptMcpServer({ mcpServers: servers, dataDir: dir }, 'test', logger);
    expect(accepted.map((t) => [t.name, t.change])).toContainEqual(['test__echo', 'new']);
    expect(readPins(dir).test!.tools.echo!.hash).toBe(accepted.find((t) => t.tool === 'echo')!.hash);

    const tools = await connect(servers);
    const { registry, runTool } = activitiesFor(tools);
    expect(registry.names().sort()).toEqual([
      'test__crash_once',
      'test__echo',
      'test__fail',
      'test__mutate',
      'test__record',
      'test__search_web',
      'test__slow',
      'test__whoami',
    ]);
    const out = await runTool({ tool: 'test__echo', input: { text: 'hello' } });
    expect(out.output).toEqual({ text: 'hello' });
    // the descriptor a task records carries the pin, and the input schema the server gave
    const [echo] = registry.describe(['test__echo']);
    expect(echo).toMatchObject({
      name: 'test__echo',
      description: 'Echoes text.',
      definitionHash: accepted.find((t) => t.tool === 'echo')!.hash,
      inputSchema: {
        type: 'object',
        properties: { text: { type: 'string', minLength: 1 } },
        required: ['text'],
      },
    });
  });

  test('the idempotency key travels in _meta, so a retried step does its work once', async () => {
    const servers = { test: stdioServer({ acceptOnFirstUse: true }) };
    const { runTool } = activitiesFor(await connect(servers));
    const call = { tool: 'test__record', input: { key: 'k', value: 'v' }, idempotencyKey: 'wf-9:4' };
    const first = await runTool(call);
    await runTool(call); // a retry of the same step
    expect(first.output).toEqual({ text: 'recorded k', structured: { key: 'k', idempotencyKey: 'wf-9:4' } });
    const lines = readFileSync(process.env.TEST_MCP_RECORD!, 'utf8').trim().split('\n');
    expect(lines.map((l) => JSON.parse(l))).toEqual([{ key: 'k', value: 'v', idempotencyKey: 'wf-9:4' }]);
  });

  test('an isError result is a tool failure that is not retried, with the server’s words', async () => {
    const { runTool } = activitiesFor(await connect({ test: stdioServer({ acceptOnFirstUse: true }) }));
    const failure = await failureOf(runTool({ tool: 'test__fail', input: { why: 'no disk' } }));
    expect(failure.type).toBe('ToolRejected');
    expect(failure.nonRetryable).toBe(true);
    expect(failure.message).toContain('test__fail answered with an error: cannot do that: no disk');
  });

  test('input the server’s schema refuses is refused before the call', async () => {
    const { runTool } = activitiesFor(await connect({ test: stdioServer({ acceptOnFirstUse: true }) }));
    const failure = await failureOf(runTool({ tool: 'test__echo', input: { text: '' } }));
    expect(failure.type).toBe('ToolInputInvalid');
  });

  test('a server that dies is started again: the failed call is retryable and the next one runs', async () => {
    const { runTool } = activitiesFor(await connect({ test: stdioServer({ acceptOnFirstUse: true }) }));
    const first = await failureOf(runTool({ tool: 'test__crash_once', input: {} }));
    expect(first.type).toBe('ToolFailed');
    expect(first.nonRetryable).toBe(false);
    const crashedPid = readFileSync(process.env.TEST_MCP_MARKER!, 'utf8');
    const second = await runTool({ tool: 'test__crash_once', input: {} });
    expect((second.output as { text: string }).text).toMatch(/^alive in [0-9a-f]{16}$/);
    expect((second.output as { text: string }).text).not.toBe(`alive in ${crashedPid}`);
  });

  test('a call that outlives its timeout fails retryably, and the next call gets a fresh server', async () => {
    const { runTool } = activitiesFor(
      await connect({ test: stdioServer({ acceptOnFirstUse: true, callTimeoutSeconds: 1 }) }),
    );
    const pid = (await runTool({ tool: 'test__whoami', input: {} })).output;
    const timedOut = await failureOf(runTool({ tool: 'test__slow', input: { ms: 5000 } }));
    expect(timedOut.type).toBe('ToolFailed');
    expect(timedOut.nonRetryable).toBe(false);
    expect(timedOut.message).toMatch(/timeout exceeded/i);
    const after = (await runTool({ tool: 'test__whoami', input: {} })).output as { text: string };
    expect(after.text).toMatch(/^process [0-9a-f]{16}$/);
    expect(after).not.toEqual(pid);
  });

  test('a call is cancelled with its activity, and heartbeats with the server’s progress', async () => {
    const { runTool } = activitiesFor(await connect({ test: stdioServer({ acceptOnFirstUse: true }) }));
    const env = new MockActivityEnvironment(undefined, { logger: silent });
    const beats: unknown[] = [];
    env.on('heartbeat', (d: unknown) => {
      beats.push(d);
      if (beats.length === 3) env.cancel();
    });
    const started = Date.now();
    await expect(runTool({ tool: 'test__slow', input: { ms: 20_000 } }, env)).rejects.toBeInstanceOf(
      CancelledFailure,
    );
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(beats.some((b) => typeof b === 'object' && b !== null && 'progress' in b)).toBe(true);
  });

  test('a tool that changed since it was accepted is unavailable with the reason; the others keep working', async () => {
    const servers = { test: stdioServer() };
    await acceptMcpServer({ mcpServers: servers, dataDir: dir }, 'test', logger);
    process.env.TEST_MCP_VARIANT = 'changed';
    const drifted = {
      test: stdioServer({
        env: { MCP_TEST_VARIANT: 'TEST_MCP_VARIANT', MCP_TEST_RECORD: 'TEST_MCP_RECORD' },
      }),
    };
    const tools = await connect(drifted);
    const { registry, runTool } = activitiesFor(tools);
    expect(registry.names()).not.toContain('test__echo');
    expect(tools.reasonFor('test__echo')).toMatch(
      /^tool echo of MCP server test changed since it was accepted \(sha256 [0-9a-f]{12}… is now [0-9a-f]{12}…\): review it and run `steward tools accept test`$/,
    );
    expect(() => registry.describe(['test__record', 'test__echo'])).toThrow(
      'tool test__echo is unavailable: tool echo of MCP server test changed',
    );
    expect((await runTool({ tool: 'test__record', input: { key: 'a', value: 'b' } })).output).toMatchObject({
      text: 'recorded a',
    });
    // accepting again takes the new definition
    const again = await acceptMcpServer({ mcpServers: drifted, dataDir: dir }, 'test', logger);
    expect(again.find((t) => t.tool === 'echo')).toMatchObject({ change: 'changed' });
    delete process.env.TEST_MCP_VARIANT;
  });

  test('a server that says its tools changed is listed again: a changed tool stops being offered at once', async () => {
    const tools = await connect({ test: stdioServer({ acceptOnFirstUse: true }) });
    const { registry, runTool } = activitiesFor(tools);
    expect((await runTool({ tool: 'test__echo', input: { text: 'before' } })).output).toEqual({
      text: 'before',
    });
    await runTool({ tool: 'test__mutate', input: {} });
    for (let i = 0; i < 50 && !tools.reasonFor('test__echo'); i++)
      await new Promise((r) => setTimeout(r, 100));
    expect(tools.reasonFor('test__echo')).toContain(
      'tool echo of MCP server test changed since it was accepted',
    );
    const refused = await failureOf(runTool({ tool: 'test__echo', input: { text: 'after' } }));
    expect(refused.type).toBe('ToolRejected');
    expect(refused.message).toContain('changed since it was accepted');
    expect(() => registry.describe(['test__echo'])).toThrow('tool test__echo is unavailable');
    expect((await runTool({ tool: 'test__whoami', input: {} })).output).toMatchObject({
      text: expect.any(String),
    });
  });

  test('a tool whose schema zod cannot represent is left out with the reason', async () => {
    process.env.TEST_MCP_VARIANT = 'badschema';
    const tools = await connect({
      test: stdioServer({ acceptOnFirstUse: true, env: { MCP_TEST_VARIANT: 'TEST_MCP_VARIANT' } }),
    });
    delete process.env.TEST_MCP_VARIANT;
    expect(tools.reasonFor('test__conditional')).toBe(
      'tool conditional of MCP server test has an input schema zod cannot represent: Conditional schemas (if/then/else) are not supported',
    );
    expect(tools.tools().map((t) => t.name)).toContain('test__echo');
  });

  test('a server that is missing, crashes or hangs at start is reported and its tools are unavailable', async () => {
    process.env.TEST_MCP_VARIANT_CRASH = 'crash';
    process.env.TEST_MCP_VARIANT_HANG = 'hang';
    const started = Date.now();
    const tools = await connect({
      missing: mcpServerSchema.parse({ command: join(dir, 'no-such-server'), connectTimeoutSeconds: 5 }),
      crashes: stdioServer({ env: { MCP_TEST_VARIANT: 'TEST_MCP_VARIANT_CRASH' } }),
      hangs: stdioServer({ env: { MCP_TEST_VARIANT: 'TEST_MCP_VARIANT_HANG' }, connectTimeoutSeconds: 3 }),
      works: stdioServer({ acceptOnFirstUse: true }),
    });
    expect(Date.now() - started).toBeLessThan(15_000);
    const status = Object.fromEntries(tools.report().map((s) => [s.server, s]));
    expect(status.missing).toMatchObject({ connected: false });
    expect(status.missing!.reason).toMatch(
      /^MCP server missing \(.*no-such-server\) is unavailable: .*ENOENT/,
    );
    expect(status.crashes!.reason).toMatch(/^MCP server crashes \(.*\) is unavailable: /);
    expect(status.hangs!.reason).toContain('it did not connect and list its tools within 3 s');
    expect(status.hangs!.reason).toContain('its stderr: hanging on purpose');
    expect(tools.reasonFor('hangs__echo')).toBe(status.hangs!.reason);
    expect(tools.reasonFor('works__echo')).toBeUndefined();
    expect(tools.tools().map((t) => t.name)).toContain('works__echo');
    delete process.env.TEST_MCP_VARIANT_CRASH;
    delete process.env.TEST_MCP_VARIANT_HANG;
  }, 30_000);

  test('an env variable the config names but the worker lacks is reported by name', async () => {
    const tools = await connect({ test: stdioServer({ env: { TOKEN: 'TEST_MCP_UNSET_VARIABLE' } }) });
    expect(tools.reasonFor('test__echo')).toBe(
      'MCP server test: env.TOKEN reads the environment variable TEST_MCP_UNSET_VARIABLE, which is not set',
    );
  });
});

describe('MCP tools over streamable HTTP', () => {
  test('headers come from environment variables; a wrong or missing one leaves the server out', async () => {
    const http = await startHttpServer('s3cret');
    try {
      process.env.TEST_MCP_AUTH = 'Bearer s3cret';
      process.env.TEST_MCP_BAD_AUTH = 'Bearer wrong';
      const server = (header: string) =>
        mcpServerSchema.parse({ url: http.url, headers: { Authorization: header }, acceptOnFirstUse: true });
      const tools = await connect({ good: server('TEST_MCP_AUTH'), bad: server('TEST_MCP_BAD_AUTH') });
      const { runTool } = activitiesFor(tools);
      expect((await runTool({ tool: 'good__echo', input: { text: 'over http' } })).output).toEqual({
        text: 'over http',
      });
      expect(tools.reasonFor('bad__echo')).toMatch(
        /^MCP server bad \(http:\/\/127\.0\.0\.1:\d+\/mcp\) is unavailable: .*unauthorized/,
      );
      expect(tools.reasonFor('bad__echo')).not.toContain('wrong');
      // an untrusted HTTP server: strictest unless configured, and its input reaches whoever runs it
      const echo = tools.tools().find((t) => t.name === 'good__echo')!;
      expect([echo.effect, echo.reach]).toEqual(['irreversible', 'public']);
    } finally {
      await http.close();
    }
  });
});

describe('a published MCP server, run as users run it: @modelcontextprotocol/server-filesystem over stdio', () => {
  test('its tools are pinned, mapped from a trusted server’s annotations, and read and write files', async () => {
    const files = join(scratch, 'files');
    mkdirSync(files);
    writeFileSync(join(files, 'hello.txt'), 'hello from the filesystem server\n');
    const servers = {
      fs: mcpServerSchema.parse({
        command: 'npx',
        args: ['--no-install', '@modelcontextprotocol/server-filesystem', files],
        cwd: REPO, // npx finds the pinned devDependency; users run `npx -y @modelcontextprotocol/server-filesystem <dir>`
        trusted: true,
        sandbox: { writable: [files] }, // it reads and writes there, and nowhere else
        connectTimeoutSeconds: 30,
        tools: { create_directory: { disabled: true } },
      }),
    };
    const accepted = await acceptMcpServer({ mcpServers: servers, dataDir: dir }, 'fs', logger);
    expect(accepted.length).toBeGreaterThan(5);
    const tools = await connect(servers);
    const byName = Object.fromEntries(tools.tools().map((t) => [t.name, t]));
    expect(byName.fs__read_text_file).toMatchObject({ effect: 'read', reach: 'local' });
    expect(byName.fs__write_file).toMatchObject({ effect: 'irreversible', reach: 'local' }); // destructiveHint: true
    expect(byName.fs__create_directory).toBeUndefined();
    expect(byName.fs__read_text_file!.definitionHash).toBe(
      mcpDefinitionHash({
        name: 'read_text_file',
        description: byName.fs__read_text_file!.description,
        inputSchema: readPins(dir).fs!.tools.read_text_file!.inputSchema,
        annotations: readPins(dir).fs!.tools.read_text_file!.annotations,
      }),
    );
    const { runTool } = activitiesFor(tools);
    const read = await runTool({ tool: 'fs__read_text_file', input: { path: join(files, 'hello.txt') } });
    expect((read.output as { text: string }).text).toBe('hello from the filesystem server\n');
    await runTool({ tool: 'fs__write_file', input: { path: join(files, 'out.txt'), content: 'written' } });
    expect(readFileSync(join(files, 'out.txt'), 'utf8')).toBe('written');
    const outside = await failureOf(runTool({ tool: 'fs__read_text_file', input: { path: '/etc/passwd' } }));
    expect(outside.type).toBe('ToolRejected');
    expect(outside.message).toMatch(/Access denied|outside allowed/i);
    expect(existsSync(pinFilePath(dir))).toBe(true);
  }, 60_000);
});
