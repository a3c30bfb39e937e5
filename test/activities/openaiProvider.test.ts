import { CancelledFailure, type Logger as TemporalLogger } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { createActivities } from '../../src/activities';
import type { ModelStepInput, ModelStepOutput } from '../../src/workflows/contract';
import { isBlobRef, type BlobRef, type ModelRoute } from '../../src/shared/types';
import { OpenAICompatibleProvider, retryAfterMs } from '../../src/providers/openaiCompatible';
import type { ModelProvider } from '../../src/providers/types';
import { BlobStore } from '../../src/stores/blobStore';
import { builtinTools } from '../../src/tools/builtin';
import { ToolRegistry } from '../../src/tools/registry';
import { MockOpenAI } from '../support/mockOpenAI';
import { workerIdentity } from '../../src/activities/identity';
import { failureOf } from '../support/failures';

const silent: TemporalLogger = { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const mock = new MockOpenAI();
let dir: string;
let tools: ToolRegistry;
let blobs: BlobStore;
let activities: ReturnType<typeof createActivities>;

/** Longer than the cancel test needs (request + 1.2 s + a 2 s window for the rejection). */
const STALL_MS = 3600;
let stallEndsAt = 0;

const route: ModelRoute = {
  id: 'r',
  provider: 'mock',
  model: 'm',
  trust: 'public',
  price: { inputPerMTok: 1, outputPerMTok: 1 },
};

function stepInput(overrides: Partial<ModelStepInput> = {}): ModelStepInput {
  return {
    taskId: 'task-1',
    step: 1,
    route,
    messages: [
      { role: 'system', content: ['You read files.'] },
      { role: 'user', content: ['Read a.txt'] },
    ],
    mode: 'action',
    tools: tools.describe(['read_file']),
    allowFinish: true,
    maxOutputTokens: 64,
    ...overrides,
  };
}

function env(): MockActivityEnvironment {
  return new MockActivityEnvironment(undefined, { logger: silent });
}

function callModel(input: ModelStepInput = stepInput(), environment = env()): Promise<ModelStepOutput> {
  return environment.run(activities.callModel, input);
}

beforeAll(async () => {
  await mock.start();
  dir = mkdtempSync(join(tmpdir(), 'steward-model-activity-'));
  const workspace = join(dir, 'workspace');
  mkdirSync(workspace);
  tools = new ToolRegistry().register(...builtinTools({ workspace, httpAllowlist: [] }));
  blobs = new BlobStore(join(dir, 'blobs'));
  const providers = new Map<string, ModelProvider>([
    ['mock', new OpenAICompatibleProvider({ name: 'mock', baseURL: mock.url })],
  ]);
  activities = createActivities({ providers, tools, blobs, logger: pino({ level: 'silent' }) });
});

afterAll(async () => {
  // the mock's stall timer outlives the cancelled request; let it run out so the process can exit cleanly
  await sleep(Math.max(0, stallEndsAt - Date.now()));
  await mock.stop();
  rmSync(dir, { recursive: true, force: true });
});

beforeEach(() => {
  mock.reset();
  mock.requests.length = 0;
});

describe('model activity against a local OpenAI-compatible server: a stalled server and a cancel', () => {
  // One run, observed by the tests below: the server stalls, the activity is cancelled 1.2 s after
  // the request arrived.
  const beats: number[] = [];
  let requestsSeen = 0;
  let requestArrivedAt = 0;
  let beatsBeforeCancel = 0;
  let rejectedAfterMs = Infinity;
  let error: unknown;

  beforeAll(async () => {
    mock.reset();
    mock.requests.length = 0;
    mock.reply({ stallMs: STALL_MS });
    stallEndsAt = Date.now() + STALL_MS + 100;
    const environment = env();
    environment.on('heartbeat', () => beats.push(Date.now()));
    const started = Date.now();
    const running = callModel(stepInput(), environment);
    running.catch(() => undefined);
    while (mock.requests.length === 0 && Date.now() - started < 2000) await sleep(5);
    requestArrivedAt = mock.requests[0]?.at ?? Infinity;
    await sleep(1200); // the server stalls; the activity must keep heartbeating meanwhile
    beatsBeforeCancel = beats.length;
    const cancelledAt = Date.now();
    environment.cancel();
    try {
      await running;
    } catch (err) {
      error = err;
    }
    rejectedAfterMs = Date.now() - cancelledAt;
    requestsSeen = mock.requests.length;
  });

  test('the activity rejects promptly (< 2 s) after the cancel', () => {
    expect(error).toBeDefined();
    expect(rejectedAfterMs).toBeLessThan(2000);
  });

  test('heartbeats start before the request reaches the server and keep coming while it stalls', () => {
    expect(beats[0]).toBeLessThanOrEqual(requestArrivedAt);
    expect(beatsBeforeCancel).toBeGreaterThanOrEqual(2);
  });

  test('exactly one HTTP request was made', () => {
    expect(requestsSeen).toBe(1);
  });

  test('the rejection is a cancellation Temporal recognises (CancelledFailure or AbortError), not a failure', () => {
    // The worker reports an activity as cancelled only for a CancelledFailure or an error named
    // AbortError; anything else is reported as a (retryable) failure of the cancelled activity.
    const err = error as Error;
    const seen = {
      name: err.name,
      constructor: err.constructor.name,
      message: err.message,
      isCancellation: err instanceof CancelledFailure || err.name === 'AbortError',
    };
    expect(seen).toEqual({ ...seen, isCancellation: true });
  });
});

describe('model activity against a local OpenAI-compatible server: answers', () => {
  test('a tool call comes back validated as an action, with the real usage, the response id and the worker', async () => {
    mock.reply({ tool: 'read_file', args: { path: 'a.txt' }, usage: { prompt: 123, completion: 7 } });
    const out = await callModel();
    expect(out).toEqual({
      provider: 'mock',
      model: 'm',
      usage: { inputTokens: 123, outputTokens: 7 },
      action: { callId: 'call_1', tool: 'read_file', input: { path: 'a.txt' } },
      responseId: 'chatcmpl-1',
      worker: workerIdentity,
    });
    expect(mock.requests).toHaveLength(1);
  });

  test('the request carries the model, the output limit, the messages and the offered tools plus finish', async () => {
    mock.reply({ tool: 'read_file', args: { path: 'a.txt' } });
    await callModel();
    const { body } = mock.requests[0]!;
    expect(body.model).toBe('m');
    expect(body.max_tokens).toBe(64);
    expect(body.messages).toEqual([
      { role: 'system', content: 'You read files.' },
      { role: 'user', content: 'Read a.txt' },
    ]);
    expect(body.tools!.map((t) => t.function.name)).toEqual(['read_file', 'finish']);
    expect(body.tools![0]!.function.parameters).toMatchObject({ type: 'object', required: ['path'] });
  });

  test('blob references and JSON parts in messages are resolved into the text sent', async () => {
    const ref = await blobs.putValue('THE WHOLE NOTES FILE');
    mock.reply({ text: 'ok' });
    await callModel(
      stepInput({
        mode: 'text',
        messages: [{ role: 'user', content: ['Notes: ', ref, ' / ', { json: { words: 4 } }] }],
      }),
    );
    expect(mock.requests[0]!.body.messages[0]!.content).toBe('Notes: THE WHOLE NOTES FILE / {"words":4}');
  });

  test('text mode returns the text and offers no tools', async () => {
    mock.reply({ text: 'A short digest.', usage: { prompt: 50, completion: 4 } });
    const out = await callModel(stepInput({ mode: 'text', tools: [], allowFinish: false }));
    expect(out).toEqual({
      provider: 'mock',
      model: 'm',
      usage: { inputTokens: 50, outputTokens: 4 },
      text: 'A short digest.',
      responseId: 'chatcmpl-1',
      worker: workerIdentity,
    });
    expect(mock.requests[0]!.body.tools).toBeUndefined();
  });

  test('a very long text answer comes back as a blob reference that resolves to the text', async () => {
    const long = 'word '.repeat(20_000);
    mock.reply({ text: long });
    const out = await callModel(stepInput({ mode: 'text', tools: [], allowFinish: false }));
    expect(isBlobRef(out.text)).toBe(true);
    expect(await blobs.getValue(out.text as BlobRef)).toBe(long);
  });

  test('a tool call whose arguments break the zod schema comes back as invalid, with the reason', async () => {
    mock.reply({ tool: 'read_file', args: { path: '' } });
    const out = await callModel();
    expect(out.action).toBeUndefined();
    expect(out.invalid).toMatchObject({ callId: 'call_1', raw: 'read_file({"path":""})' });
    expect(out.invalid!.error).toMatch(/input of read_file is invalid/);
    expect(out.invalid!.error).toMatch(/path/);
    expect(out.usage).toEqual({ inputTokens: 40, outputTokens: 10 });
  });

  test('an unknown key in the arguments is invalid (schemas are strict)', async () => {
    mock.reply({ tool: 'read_file', args: { path: 'a.txt', mode: 'rw' } });
    const out = await callModel();
    expect(out.invalid!.error).toMatch(/input of read_file is invalid/);
  });

  test('arguments that are not JSON are invalid', async () => {
    mock.reply({ tool: 'read_file', rawArgs: '{"path": "a.txt"' });
    const out = await callModel();
    expect(out.invalid!.error).toMatch(/not (usable )?JSON/);
  });

  test('a call of a tool that was not offered is invalid and names the choices', async () => {
    mock.reply({ tool: 'write_file', args: { path: 'x', content: 'y' } });
    const out = await callModel();
    expect(out.invalid!.error).toMatch(/there is no tool write_file; choose one of read_file, finish/);
  });

  test('finish is validated like any tool, and only when offered', async () => {
    mock.reply({ tool: 'finish', args: { result: 'done' } }, { tool: 'finish', args: { result: 'done' } });
    expect((await callModel()).action).toEqual({
      callId: 'call_1',
      tool: 'finish',
      input: { result: 'done' },
    });
    expect((await callModel(stepInput({ allowFinish: false }))).invalid!.error).toMatch(
      /there is no tool finish/,
    );
  });

  test('plain text in action mode is the final answer when finish is allowed, invalid otherwise', async () => {
    mock.reply({ text: 'All done.' }, { text: 'All done.' });
    expect((await callModel(stepInput({ step: 4 }))).action).toEqual({
      callId: 'call-4',
      tool: 'finish',
      input: { result: 'All done.' },
    });
    expect((await callModel(stepInput({ allowFinish: false }))).invalid).toEqual({
      raw: 'All done.',
      error: 'the answer called no tool',
    });
  });

  test('a route naming a provider this worker lacks is NotRegistered (non-retryable)', async () => {
    const err = await failureOf(callModel(stepInput({ route: { ...route, provider: 'elsewhere' } })));
    expect(err.type).toBe('NotRegistered');
    expect(err.nonRetryable).toBe(true);
    expect(mock.requests).toHaveLength(0);
  });
});

describe('model activity against a local OpenAI-compatible server: failures', () => {
  test('429 with Retry-After: 7 is a retryable ProviderUnavailable with nextRetryDelay 7000 ms', async () => {
    mock.reply({ status: 429, headers: { 'retry-after': '7' } });
    const err = await failureOf(callModel());
    expect(err.type).toBe('ProviderUnavailable');
    expect(err.nonRetryable).toBe(false);
    // ApplicationFailure keeps the Duration it was given; a number Duration is milliseconds
    expect(err.nextRetryDelay).toBe(7000);
    expect(err.message).toMatch(/429/);
    expect(mock.requests).toHaveLength(1);
  });

  test('retry-after-ms is honoured (and wins over retry-after)', async () => {
    mock.reply(
      { status: 429, headers: { 'retry-after-ms': '1500', 'retry-after': '30' } },
      { status: 503, headers: { 'retry-after-ms': '250' } },
    );
    expect((await failureOf(callModel())).nextRetryDelay).toBe(1500);
    const second = await failureOf(callModel());
    expect(second.type).toBe('ProviderUnavailable');
    expect(second.nextRetryDelay).toBe(250);
    expect(mock.requests).toHaveLength(2);
  });

  test('500 is a retryable ProviderUnavailable without a delay of its own, and is not retried by the client', async () => {
    mock.otherwise({ status: 500 });
    const err = await failureOf(callModel());
    expect(err.type).toBe('ProviderUnavailable');
    expect(err.nonRetryable).toBe(false);
    expect(err.nextRetryDelay).toBeUndefined();
    await sleep(1000); // longer than the openai client's first back-off
    expect(mock.requests).toHaveLength(1);
  });

  test.each([408, 409, 502, 503, 504])('%i is a retryable ProviderUnavailable', async (status) => {
    mock.reply({ status });
    const err = await failureOf(callModel());
    expect({ type: err.type, nonRetryable: err.nonRetryable }).toEqual({
      type: 'ProviderUnavailable',
      nonRetryable: false,
    });
    expect(mock.requests).toHaveLength(1);
  });

  test.each([400, 401, 403, 404, 422])('%i is a non-retryable ProviderRejected', async (status) => {
    mock.reply({ status, body: `{"error":{"message":"nope ${status}"}}` });
    const err = await failureOf(callModel());
    expect(err.type).toBe('ProviderRejected');
    expect(err.nonRetryable).toBe(true);
    expect(err.message).toContain(String(status));
    expect(mock.requests).toHaveLength(1);
  });

  // a bad response may have been billed: on a paid route the workflow charges it and reserves again,
  // so Temporal does not retry it under the one reservation (test/integration/ledgerForgery.test.ts)
  test('a malformed JSON body is a ProviderBadResponse, not retried under the same reservation', async () => {
    mock.reply({ malformed: true });
    const err = await failureOf(callModel());
    expect(err.type).toBe('ProviderBadResponse');
    expect(err.nonRetryable).toBe(true);
    expect(mock.requests).toHaveLength(1);
  });

  test('a body without choices is a ProviderBadResponse, not retried under the same reservation', async () => {
    mock.reply({ status: 200, body: '{"id":"x","object":"chat.completion","model":"m","choices":[]}' });
    const err = await failureOf(callModel());
    expect(err.type).toBe('ProviderBadResponse');
    expect(err.nonRetryable).toBe(true);
  });

  test('an unreachable server is a retryable ProviderUnavailable', async () => {
    const dead = new MockOpenAI();
    await dead.start();
    const url = dead.url;
    await dead.stop();
    const providers = new Map<string, ModelProvider>([
      ['mock', new OpenAICompatibleProvider({ name: 'mock', baseURL: url })],
    ]);
    const isolated = createActivities({ providers, tools, blobs, logger: pino({ level: 'silent' }) });
    const err = await failureOf(env().run(isolated.callModel, stepInput()));
    expect(err.type).toBe('ProviderUnavailable');
    expect(err.nonRetryable).toBe(false);
  });
});

describe('retryAfterMs', () => {
  const headers = (h: Record<string, string>) => new Headers(h);

  test('seconds', () => {
    expect(retryAfterMs(headers({ 'retry-after': '7' }))).toBe(7000);
    expect(retryAfterMs(headers({ 'retry-after': '0' }))).toBe(0);
    expect(retryAfterMs(headers({ 'retry-after': '120' }))).toBe(120_000);
  });

  test('an HTTP date, relative to now, never negative', () => {
    const now = Date.parse('Wed, 21 Oct 2015 07:28:00 GMT');
    expect(retryAfterMs(headers({ 'retry-after': 'Wed, 21 Oct 2015 07:28:30 GMT' }), now)).toBe(30_000);
    expect(retryAfterMs(headers({ 'retry-after': 'Wed, 21 Oct 2015 07:27:00 GMT' }), now)).toBe(0);
  });

  test('retry-after-ms, which wins over retry-after', () => {
    expect(retryAfterMs(headers({ 'retry-after-ms': '250' }))).toBe(250);
    expect(retryAfterMs(headers({ 'retry-after-ms': '250', 'retry-after': '9' }))).toBe(250);
  });

  test('a garbage retry-after-ms falls back to retry-after', () => {
    expect(retryAfterMs(headers({ 'retry-after-ms': 'soon', 'retry-after': '2' }))).toBe(2000);
    expect(retryAfterMs(headers({ 'retry-after-ms': '-5', 'retry-after': '2' }))).toBe(2000);
  });

  test('no header, no headers, or plain garbage give undefined', () => {
    expect(retryAfterMs(headers({}))).toBeUndefined();
    expect(retryAfterMs(undefined)).toBeUndefined();
    expect(retryAfterMs(headers({ 'retry-after': 'soon' }))).toBeUndefined();
    expect(retryAfterMs(headers({ 'retry-after': 'Infinity' }))).toBeUndefined();
    expect(retryAfterMs(headers({ 'retry-after-ms': 'soon' }))).toBeUndefined();
  });

  test('garbage that V8’s lenient Date.parse accepts is still garbage, not "retry now"', () => {
    // Date.parse('-5') and Date.parse('later, maybe 5') return dates in 2001, which would become a 0 ms delay
    expect(retryAfterMs(headers({ 'retry-after': '-5' }))).toBeUndefined();
    expect(retryAfterMs(headers({ 'retry-after': 'later, maybe 5' }))).toBeUndefined();
  });
});
