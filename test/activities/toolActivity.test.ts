import { ApplicationFailure, CancelledFailure, type Logger as TemporalLogger } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { z } from 'zod';
import { createActivities } from '../../src/activities';
import type { ToolStepInput, ToolStepOutput } from '../../src/workflows/contract';
import { isBlobRef, type BlobRef } from '../../src/shared/types';
import { canonicalJson } from '../../src/audit/canonicalJson';
import type { ModelProvider } from '../../src/providers/types';
import { BLOB_THRESHOLD_BYTES, BlobStore } from '../../src/stores/blobStore';
import { builtinTools } from '../../src/tools/builtin';
import { defineTool, ToolRegistry, type ToolContext } from '../../src/tools/registry';
import { failureOf } from '../support/failures';

const silent: TemporalLogger = { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} };

let dir: string;
let workspace: string;
let blobs: BlobStore;
let activities: ReturnType<typeof createActivities>;
const contexts: ToolContext[] = [];
let probeCalls = 0;

const testTools = [
  defineTool({
    name: 'explode',
    description: 'throws a plain Error',
    effect: 'read',
    dataClass: 'public',
    input: z.object({}).strict(),
    output: z.object({}),
    handler: async () => {
      throw new Error('disk on fire');
    },
  }),
  defineTool({
    name: 'refuse',
    description: 'throws an ApplicationFailure of its own',
    effect: 'read',
    dataClass: 'public',
    input: z.object({}).strict(),
    output: z.object({}),
    handler: async () => {
      throw ApplicationFailure.create({ type: 'ToolRejected', message: 'no thanks', nonRetryable: true });
    },
  }),
  defineTool({
    name: 'big_output',
    description: 'returns a large text',
    effect: 'read',
    dataClass: 'public',
    input: z.object({ size: z.number().int() }).strict(),
    output: z.object({ text: z.string(), size: z.number() }),
    handler: async ({ size }) => ({ text: 'x'.repeat(size), size }),
  }),
  defineTool({
    name: 'bad_output',
    description: 'returns output that breaks its own schema',
    effect: 'read',
    dataClass: 'public',
    input: z.object({}).strict(),
    output: z.object({ n: z.number() }),
    handler: async () => ({ n: 'not a number' }) as unknown as { n: number },
  }),
  defineTool({
    name: 'context_probe',
    description: 'records its context',
    effect: 'write',
    dataClass: 'public',
    input: z.object({ text: z.string() }).strict(),
    output: z.object({ length: z.number() }),
    handler: async ({ text }, context) => {
      contexts.push(context);
      probeCalls++;
      return { length: text.length };
    },
  }),
  defineTool({
    name: 'wait_for_cancel',
    description: 'waits until its signal aborts',
    effect: 'read',
    dataClass: 'public',
    input: z.object({}).strict(),
    output: z.object({}),
    handler: (_input, { signal }) =>
      new Promise((_resolve, reject) =>
        signal.addEventListener('abort', () => reject(signal.reason ?? new Error('aborted'))),
      ),
  }),
];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'steward-tool-activity-'));
  workspace = join(dir, 'workspace');
  mkdirSync(workspace);
  blobs = new BlobStore(join(dir, 'blobs'));
  const tools = new ToolRegistry().register(...builtinTools({ workspace, httpAllowlist: [] }), ...testTools);
  activities = createActivities({
    providers: new Map<string, ModelProvider>(),
    tools,
    blobs,
    logger: pino({ level: 'silent' }),
  });
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

function step(tool: string, input: unknown, overrides: Partial<ToolStepInput> = {}): ToolStepInput {
  return { taskId: 'wf-1', step: 2, tool, input, idempotencyKey: 'wf-1:2', ...overrides };
}

function runTool(
  input: ToolStepInput,
  environment = new MockActivityEnvironment(undefined, { logger: silent }),
): Promise<ToolStepOutput> {
  return environment.run(activities.runTool, input);
}

const sha = (text: string) => createHash('sha256').update(text).digest('hex');

describe('tool activity', () => {
  test('runs a tool; the output digest is the sha256 of its canonical JSON and bytes is its length', async () => {
    writeFileSync(join(workspace, 'notes.md'), 'alpha beta ✓');
    const out = await runTool(step('read_file', { path: 'notes.md' }));
    expect(out.output).toEqual({ path: 'notes.md', text: 'alpha beta ✓' });
    const json = canonicalJson({ path: 'notes.md', text: 'alpha beta ✓' });
    expect(json).toBe('{"path":"notes.md","text":"alpha beta ✓"}');
    expect(out.outputDigest).toBe(sha(json));
    expect(out.bytes).toBe(Buffer.byteLength(json));
  });

  test('the digest does not depend on the key order the tool used', async () => {
    const out = await runTool(step('text_stats', { text: 'one two three four five' }));
    const reordered = Object.fromEntries(Object.entries(out.output as Record<string, unknown>).reverse());
    expect(out.outputDigest).toBe(sha(canonicalJson(reordered)));
  });

  test('the tool gets the idempotency key, task id, step and a signal', async () => {
    contexts.length = 0;
    await runTool(
      step('context_probe', { text: 'abc' }, { idempotencyKey: 'wf-77:5', taskId: 'wf-77', step: 5 }),
    );
    expect(contexts).toHaveLength(1);
    expect(contexts[0]).toMatchObject({ idempotencyKey: 'wf-77:5', taskId: 'wf-77', step: 5 });
    expect(contexts[0]!.signal).toBeInstanceOf(AbortSignal);
  });

  test('large outputs are externalized: history gets a blob reference, the digest still covers the whole output', async () => {
    const size = BLOB_THRESHOLD_BYTES + 10;
    const out = await runTool(step('big_output', { size }));
    const output = out.output as { text: unknown; size: number };
    expect(isBlobRef(output.text)).toBe(true);
    expect(output.size).toBe(size);
    expect(JSON.stringify(out).length).toBeLessThan(BLOB_THRESHOLD_BYTES);
    expect(await blobs.resolve(out.output)).toEqual({ text: 'x'.repeat(size), size });
    expect(out.outputDigest).toBe(sha(canonicalJson({ text: 'x'.repeat(size), size })));
    expect(out.bytes).toBeGreaterThan(size);
  });

  test('small outputs stay inline', async () => {
    const out = await runTool(step('big_output', { size: 100 }));
    expect(out.output).toEqual({ text: 'x'.repeat(100), size: 100 });
  });

  test('blob references in the input are resolved before the tool sees them', async () => {
    const ref: BlobRef = await blobs.putValue('resolved text');
    const out = await runTool(step('text_stats', { text: ref }));
    expect(out.output).toMatchObject({ words: 2, chars: 'resolved text'.length });
  });

  test('side effects happen with the key they were given (write_file through the activity)', async () => {
    const out = await runTool(step('write_file', { path: 'out/d.md', content: 'digest' }));
    expect(out.output).toEqual({ path: 'out/d.md', bytes: 6, sha256: sha('digest') });
    expect(readFileSync(join(workspace, 'out', 'd.md'), 'utf8')).toBe('digest');
  });

  test('invalid input is a non-retryable ToolInputInvalid that names the field, and the tool does not run', async () => {
    probeCalls = 0;
    const err = await failureOf(runTool(step('context_probe', { text: 42 })));
    expect(err.type).toBe('ToolInputInvalid');
    expect(err.nonRetryable).toBe(true);
    expect(err.message).toMatch(/input of context_probe is invalid/);
    expect(err.message).toMatch(/text/);
    expect(probeCalls).toBe(0);
  });

  test('an unknown key in the input is ToolInputInvalid', async () => {
    const err = await failureOf(runTool(step('read_file', { path: 'a', extra: 1 })));
    expect(err.type).toBe('ToolInputInvalid');
  });

  test('an unknown tool is a non-retryable NotRegistered', async () => {
    const err = await failureOf(runTool(step('launch_rockets', {})));
    expect(err.type).toBe('NotRegistered');
    expect(err.nonRetryable).toBe(true);
    expect(err.message).toMatch(/launch_rockets/);
  });

  test('a handler throwing a plain Error becomes a retryable ToolFailed carrying the message', async () => {
    const err = await failureOf(runTool(step('explode', {})));
    expect(err.type).toBe('ToolFailed');
    expect(err.nonRetryable).toBe(false);
    expect(err.message).toBe('explode failed: disk on fire');
  });

  test('an ApplicationFailure from a handler passes through unchanged', async () => {
    const err = await failureOf(runTool(step('refuse', {})));
    expect(err.type).toBe('ToolRejected');
    expect(err.nonRetryable).toBe(true);
    expect(err.message).toBe('no thanks');
  });

  test('a tool refusing a path outside the workspace is ToolRejected through the activity', async () => {
    const err = await failureOf(runTool(step('read_file', { path: '../../etc/passwd' })));
    expect(err.type).toBe('ToolRejected');
    expect(err.nonRetryable).toBe(true);
  });

  test('output that breaks the tool’s own schema is refused, without a retry (the tool has already run)', async () => {
    const err = await failureOf(runTool(step('bad_output', {})));
    expect(err.type).toBe('ToolOutputUnrecorded');
    expect(err.nonRetryable).toBe(true);
    expect(err.message).toMatch(/breaks its schema/);
  });

  test('a running tool heartbeats within its first second, and a cancel ends it as cancelled', async () => {
    const environment = new MockActivityEnvironment(undefined, { logger: silent });
    const beats: number[] = [];
    const started = Date.now();
    const firstBeat = new Promise<void>((resolve) =>
      environment.on('heartbeat', () => {
        beats.push(Date.now() - started);
        resolve();
      }),
    );
    const running = runTool(step('wait_for_cancel', {}), environment);
    running.catch(() => undefined);
    await firstBeat;
    expect(beats[0]).toBeLessThanOrEqual(1500); // within its first second (plus timer slack)
    environment.cancel();
    await expect(running).rejects.toBeInstanceOf(CancelledFailure);
  });
});
