import { ApplicationFailure, type Logger as TemporalLogger } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { z } from 'zod';
import { createActivities } from '../../src/activities';
import { MAX_TOOL_OUTPUT_BYTES } from '../../src/activities/tool';
import type { ToolStepInput, ToolStepOutput } from '../../src/workflows/contract';
import type { ModelProvider } from '../../src/providers/types';
import { BLOB_THRESHOLD_BYTES, BlobStore } from '../../src/stores/blobStore';
import { builtinTools } from '../../src/tools/builtin';
import { defineTool, ToolRegistry } from '../../src/tools/registry';
import { failureOf } from '../support/failures';

const silent: TemporalLogger = { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} };

let dir: string;
let workspace: string;
let hook: Server;
let hookUrl: string;
let posts = 0;

const testTools = [
  defineTool({
    name: 'huge_output',
    description: 'returns more than a tool output may be',
    effect: 'read',
    dataClass: 'public',
    input: z.object({}).strict(),
    output: z.object({ text: z.string() }),
    handler: async () => ({ text: 'h'.repeat(MAX_TOOL_OUTPUT_BYTES) }),
  }),
  defineTool({
    name: 'not_a_number',
    description: 'returns a value canonical JSON refuses',
    effect: 'write',
    dataClass: 'public',
    input: z.object({}).strict(),
    output: z.object({ n: z.any() }),
    handler: async () => ({ n: Number.NaN }),
  }),
  defineTool({
    name: 'read_missing',
    description: 'fails with a raw ENOENT from the file system',
    effect: 'read',
    dataClass: 'public',
    input: z.object({}).strict(),
    output: z.object({}),
    handler: async () => {
      await readFile(join(dir, 'no', 'such', 'file'));
      return {};
    },
  }),
  defineTool({
    name: 'busy',
    description: 'fails with an errno a retry may fix',
    effect: 'read',
    dataClass: 'public',
    input: z.object({}).strict(),
    output: z.object({}),
    handler: async () => {
      throw Object.assign(new Error('EBUSY: resource busy or locked'), { code: 'EBUSY' });
    },
  }),
];

function activitiesWith(blobs: BlobStore) {
  const tools = new ToolRegistry().register(
    ...builtinTools({ workspace, httpAllowlist: [hookUrl] }),
    ...testTools,
  );
  return createActivities({
    providers: new Map<string, ModelProvider>(),
    tools,
    blobs,
    logger: pino({ level: 'silent' }),
  });
}

function run(blobs: BlobStore, tool: string, input: unknown): Promise<ToolStepOutput> {
  const step: ToolStepInput = { taskId: 'wf-1', step: 2, tool, input, idempotencyKey: 'wf-1:2' };
  return new MockActivityEnvironment(undefined, { logger: silent }).run(activitiesWith(blobs).runTool, step);
}

/** Attempts an activity as Temporal's retry policy would (up to 5 times) while its failure is retryable. */
async function runRetrying<T>(attempt: () => Promise<T>): Promise<T> {
  for (let n = 1; ; n++) {
    try {
      return await attempt();
    } catch (err) {
      if (n >= 5 || (err instanceof ApplicationFailure && err.nonRetryable)) throw err;
    }
  }
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'steward-tool-hardening-'));
  workspace = join(dir, 'workspace');
  mkdirSync(workspace);
  // A hook whose answer is large enough to go to the blob store.
  hook = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      posts++;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ receipt: 'r'.repeat(BLOB_THRESHOLD_BYTES * 2) }));
    });
  });
  await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
  hookUrl = `http://127.0.0.1:${(hook.address() as { port: number }).port}`;
});

afterAll(async () => {
  hook.closeAllConnections();
  await new Promise<void>((r) => hook.close(() => r()));
  rmSync(dir, { recursive: true, force: true });
});

beforeEach(() => {
  posts = 0;
});

describe('after the handler has returned, nothing is retried', () => {
  test('a blob store that cannot be written fails the POST step without a retry: the hook got exactly 1 POST', async () => {
    writeFileSync(join(dir, 'a-file'), '');
    const broken = new BlobStore(join(dir, 'a-file', 'blobs')); // mkdir fails with ENOTDIR
    const err = await failureOf(
      runRetrying(() => run(broken, 'http_post', { url: `${hookUrl}/hook`, body: { n: 1 } })),
    );
    expect(err.type).toBe('ToolOutputUnrecorded');
    expect(err.nonRetryable).toBe(true);
    expect(err.message).toMatch(
      /^http_post ran, so its effect happened, but its output could not be recorded: .*ENOTDIR/,
    );
    expect(posts).toBe(1);
  });

  test('the same step with a working blob store succeeds (the failure above was the store)', async () => {
    const blobs = new BlobStore(join(dir, 'blobs'));
    const out = await run(blobs, 'http_post', { url: `${hookUrl}/hook`, body: { n: 1 } });
    expect(out.bytes).toBeGreaterThan(BLOB_THRESHOLD_BYTES * 2);
    expect(posts).toBe(1);
    const fanOuts = readdirSync(blobs.dir);
    for (const fanOut of fanOuts) expect(readdirSync(join(blobs.dir, fanOut)).join()).not.toMatch(/\.tmp/);
  });

  test('an output over the cap is ToolOutputUnrecorded, naming the size and the limit', async () => {
    const err = await failureOf(run(new BlobStore(join(dir, 'blobs')), 'huge_output', {}));
    expect(err.type).toBe('ToolOutputUnrecorded');
    expect(err.nonRetryable).toBe(true);
    expect(err.message).toMatch(
      new RegExp(`over ${MAX_TOOL_OUTPUT_BYTES}|${MAX_TOOL_OUTPUT_BYTES}-byte limit`),
    );
  });

  test('an output canonical JSON cannot encode is ToolOutputUnrecorded', async () => {
    const err = await failureOf(run(new BlobStore(join(dir, 'blobs')), 'not_a_number', {}));
    expect(err.type).toBe('ToolOutputUnrecorded');
    expect(err.nonRetryable).toBe(true);
    expect(err.message).toMatch(/non-finite number/);
  });
});

describe("a handler's own errors", () => {
  test('a file-system code that cannot change is a non-retryable ToolRejected, without the absolute path', async () => {
    const err = await failureOf(run(new BlobStore(join(dir, 'blobs')), 'read_missing', {}));
    expect(err.type).toBe('ToolRejected');
    expect(err.nonRetryable).toBe(true);
    expect(err.message).toBe('read_missing failed: a path does not exist (ENOENT)');
  });

  test('a code a retry may fix stays a retryable ToolFailed', async () => {
    const err = await failureOf(run(new BlobStore(join(dir, 'blobs')), 'busy', {}));
    expect(err.type).toBe('ToolFailed');
    expect(err.nonRetryable).toBe(false);
  });
});
