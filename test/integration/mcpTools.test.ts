import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import pino from 'pino';
import { createWorker, parseConfig, type StewardWorker } from '../../src';
import { acceptMcpServer } from '../../src/tools/mcp/accept';
import { readPins } from '../../src/tools/mcp/pins';
import { ensureModel } from '../../src/weights';
import { testAddress, uniqueName, workflowBundle } from '../support/harness';

const REPO = resolve(__dirname, '../..');
const TSX = require.resolve('tsx/cjs', { paths: [REPO] });
const TEST_SERVER = join(REPO, 'test', 'support', 'mcpTestServer.ts');
const DATA_DIR = process.env.STEWARD_DATA_DIR ?? join(REPO, '.steward');
const logger = pino({ level: 'silent' });

/** Every string in a workflow's history payloads (JSON-encoded), to find what was recorded. */
function payloadTexts(value: unknown, out: string[] = []): string[] {
  if (value instanceof Uint8Array) out.push(Buffer.from(value).toString('utf8'));
  else if (Array.isArray(value)) value.forEach((v) => payloadTexts(v, out));
  else if (value && typeof value === 'object') Object.values(value).forEach((v) => payloadTexts(v, out));
  return out;
}

/**
 * Tools from MCP servers on a real worker and server, under the same policy, approval and audit as
 * built-in tools: a published server (server-filesystem, over stdio, as users run it) and one written
 * for the tests; pins recorded in the task's history and bound to its approval; a changed tool and a
 * missing server refused with their reasons while the others work; an open-world tool kept from
 * confidential data.
 */
describe('MCP tools end to end', () => {
  const dir = mkdtempSync(join(process.env.STEWARD_TEST_DIR ?? '/tmp', 'mcp-e2e-'));
  const files = join(dir, 'files');
  // the servers run sandboxed: they see and write only their sandbox.writable paths, outside the data directory
  const out = join(dir, 'out');
  const record = join(out, 'record.jsonl');
  let worker: StewardWorker;

  const testServer = (variantEnv?: string) => ({
    command: process.execPath,
    args: ['--require', TSX, TEST_SERVER],
    env: {
      MCP_TEST_RECORD: 'STEWARD_IT_MCP_RECORD',
      ...(variantEnv ? { MCP_TEST_VARIANT: variantEnv } : {}),
    },
    sandbox: { writable: [out] },
    connectTimeoutSeconds: 30,
  });

  beforeAll(async () => {
    mkdirSync(files, { recursive: true });
    mkdirSync(out, { recursive: true });
    writeFileSync(join(files, 'note.txt'), 'remember the milk');
    process.env.STEWARD_IT_MCP_RECORD = record;
    process.env.STEWARD_IT_MCP_VARIANT = 'normal';
    const config = {
      dataDir: '.steward',
      temporal: { taskQueue: uniqueName('mcp') },
      computeNodes: [{ id: 'n', taskQueue: uniqueName('mcp-node') }],
      providers: {
        embedded: { kind: 'embedded' as const, modelPath: await ensureModel({ dataDir: DATA_DIR }) },
      },
      policy: { approval: { approvers: ['alice'] } },
      mcpServers: {
        fs: {
          command: 'npx',
          args: ['--no-install', '@modelcontextprotocol/server-filesystem', files],
          cwd: REPO,
          trusted: true,
          sandbox: { writable: [files] },
          connectTimeoutSeconds: 30,
        },
        test: {
          ...testServer(),
          dataClass: 'confidential' as const,
          tools: {
            echo: { effect: 'read' as const, openWorld: false },
            search_web: { effect: 'read' as const },
          },
        },
        drift: testServer('STEWARD_IT_MCP_VARIANT'),
        broken: { command: join(dir, 'not-installed'), connectTimeoutSeconds: 5 },
      },
      agents: [
        {
          name: 'mcp-notes',
          description: 'Reads a note through the filesystem server and records it through the test server',
          instructions: 'none',
          tools: ['fs__read_text_file', 'test__record'],
          plan: [
            {
              id: 'read',
              kind: 'tool' as const,
              tool: 'fs__read_text_file',
              input: { path: join(files, 'note.txt') },
            },
            {
              id: 'keep',
              kind: 'tool' as const,
              tool: 'test__record',
              input: { key: 'note', value: '{{steps.read.output.text}}' },
            },
            { id: 'done', kind: 'finish' as const, result: '{{steps.keep.output.text}}' },
          ],
        },
        {
          name: 'leaky',
          description: 'Sends confidential data to an open-world tool',
          instructions: 'none',
          tools: ['test__echo', 'test__search_web'],
          plan: [
            { id: 'secret', kind: 'tool' as const, tool: 'test__echo', input: { text: 'the launch code' } },
            {
              id: 'leak',
              kind: 'tool' as const,
              tool: 'test__search_web',
              input: { q: '{{steps.secret.output.text}}' },
            },
            { id: 'done', kind: 'finish' as const, result: 'leaked' },
          ],
        },
        {
          name: 'drifted',
          description: 'Uses a changed tool',
          instructions: 'none',
          tools: ['drift__echo', 'drift__record'],
        },
        {
          name: 'stranded',
          description: 'Uses a missing server',
          instructions: 'none',
          tools: ['broken__anything'],
        },
      ],
    };
    const loaded = parseConfig(config, 'config', dir);
    // accepted as they are now; the drift server then changes its echo tool
    for (const server of ['fs', 'test', 'drift']) await acceptMcpServer(loaded, server, logger);
    process.env.STEWARD_IT_MCP_VARIANT = 'changed';
    worker = await createWorker({
      address: testAddress(),
      workflowBundle: workflowBundle(),
      config: loaded,
      logger,
    });
  }, 120_000);

  afterAll(async () => {
    await worker?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('a plan across two MCP servers: pinned definitions in history, the pin bound to the approval, the effect done once', async () => {
    const client = await worker.client();
    const handle = await client.start({ agent: 'mcp-notes', principal: 'alice' });
    const bindings: unknown[] = [];
    const result = await client.follow(handle.workflowId, async (state) => {
      const pending = state.pendingApproval;
      if (!pending || pending.decisions.length > 0) return;
      bindings.push(pending.binding);
      await client.decide(handle.workflowId, {
        identity: 'alice',
        decision: 'approve',
        approvalId: pending.id,
        digest: pending.digest,
      });
    });
    expect(result).toMatchObject({ status: 'completed', result: 'recorded note' });

    const pins = readPins(worker.config.dataDir);
    // the untrusted test server's record tool needs approval (irreversible by default); the approval names its pin
    expect(bindings).toEqual([expect.objectContaining({ definitionHash: pins.test!.tools.record!.hash })]);
    // the pins of both tools are in the task's resolved spec, in history
    const history = payloadTexts(await handle.fetchHistory()).join('\n');
    expect(history).toContain(pins.fs!.tools.read_text_file!.hash);
    expect(history).toContain(pins.test!.tools.record!.hash);
    // the effect happened once, with the step's idempotency key
    const lines = readFileSync(record, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines).toEqual([
      { key: 'note', value: 'remember the milk', idempotencyKey: `${handle.workflowId}:2` },
    ]);
    const audit = await client.audit(handle.workflowId);
    expect(
      audit.filter((e) => e.kind === 'tool.completed').map((e) => (e.data as { tool: string }).tool),
    ).toEqual(['fs__read_text_file', 'test__record']);
  });

  test('an open-world tool is denied to a task that has seen confidential data', async () => {
    const client = await worker.client();
    const handle = await client.start({ agent: 'leaky', principal: 'alice' });
    const result = await handle.result();
    expect(result).toMatchObject({ status: 'stopped', stopReason: 'denied' });
    expect(result.detail).toContain(
      "test__search_web may send its input to public parties, where the task's confidential data may not go",
    );
    const decided = (await client.audit(handle.workflowId)).filter((e) => e.kind === 'policy.decided');
    expect(decided.at(-1)!.data).toMatchObject({
      decision: 'deny',
      ruleIds: ['builtin/data-boundary'],
    });
  });

  test('a tool changed since it was accepted, and a server that is missing, stop their tasks with the reason', async () => {
    const client = await worker.client();
    const drifted = await (await client.start({ agent: 'drifted', principal: 'alice' })).result();
    expect(drifted).toMatchObject({ status: 'stopped', stopReason: 'refused' });
    expect(drifted.detail).toContain(
      'tool drift__echo is unavailable: tool echo of MCP server drift changed since it was accepted',
    );
    expect(drifted.detail).toContain('steward tools accept drift');
    const stranded = await (await client.start({ agent: 'stranded', principal: 'alice' })).result();
    expect(stranded).toMatchObject({ status: 'stopped', stopReason: 'refused' });
    expect(stranded.detail).toMatch(
      /tool broken__anything is unavailable: MCP server broken \(.*not-installed\) is unavailable: /,
    );
  });
});
