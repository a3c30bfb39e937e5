import { CancelledFailure, type Logger as TemporalLogger } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createActivities } from '../../src/activities';
import type { ModelStepInput, ModelStepOutput } from '../../src/workflows/contract';
import type { ModelRoute } from '../../src/shared/types';
import { parseConfig } from '../../src/config/load';
import { createProviders } from '../../src/providers';
import { OpenAICompatibleProvider, type OpenAICompatibleOptions } from '../../src/providers/openaiCompatible';
import type { ModelProvider } from '../../src/providers/types';
import { BlobStore } from '../../src/stores/blobStore';
import { createLogger } from '../../src/runtime/logger';
import { redactSecrets, registerSecret } from '../../src/shared/secrets';
import { builtinTools } from '../../src/tools/builtin';
import { ToolRegistry } from '../../src/tools/registry';
import { failureOf } from '../support/failures';
import { MockOpenAI } from '../support/mockOpenAI';

/** Hardening of the OpenAI-compatible provider against a real local server that misbehaves. */

const silent: TemporalLogger = { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const mock = new MockOpenAI();
let dir: string;
let tools: ToolRegistry;
let blobs: BlobStore;
/** Every line the process logger would have written. */
const logged: string[] = [];
const logger = createLogger({ write: (line: string) => void logged.push(line) });

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
    messages: [{ role: 'user', content: ['Say something.'] }],
    mode: 'text',
    tools: [],
    allowFinish: false,
    maxOutputTokens: 64,
    ...overrides,
  };
}

/** The model activity over one provider on the mock, with the given options. */
function callModel(
  options: Partial<OpenAICompatibleOptions> = {},
  environment = new MockActivityEnvironment(undefined, { logger: silent }),
): Promise<ModelStepOutput> {
  const provider = new OpenAICompatibleProvider({ name: 'mock', baseURL: mock.url, ...options });
  const providers = new Map<string, ModelProvider>([['mock', provider]]);
  const activities = createActivities({ providers, tools, blobs, logger });
  return environment.run(activities.callModel, stepInput());
}

beforeAll(async () => {
  await mock.start();
  dir = mkdtempSync(join(tmpdir(), 'steward-provider-hardening-'));
  const workspace = join(dir, 'workspace');
  mkdirSync(workspace);
  tools = new ToolRegistry().register(...builtinTools({ workspace, httpAllowlist: [] }));
  blobs = new BlobStore(join(dir, 'blobs'));
});

afterAll(async () => {
  await mock.stop();
  rmSync(dir, { recursive: true, force: true });
});

beforeEach(() => {
  mock.reset();
  mock.requests.length = 0;
});

describe('one deadline covers the whole request, body included', () => {
  test('a server that sends headers, then a byte every 2 s, fails at timeoutMs as a ProviderTimeout, which may have been billed', async () => {
    mock.reply({ trickleMs: 2000, bytes: 10 });
    const started = Date.now();
    const err = await failureOf(callModel({ timeoutMs: 500 }));
    const elapsed = Date.now() - started;
    expect(err.type).toBe('ProviderTimeout');
    // a paid call: not retried under its one reservation (the workflow reserves again for the next attempt)
    expect(err.nonRetryable).toBe(true);
    expect(err.message).toMatch(/took longer than 500 ms/);
    expect(elapsed).toBeGreaterThanOrEqual(450);
    expect(elapsed).toBeLessThan(1500);
    expect(mock.requests).toHaveLength(1);
  });

  test('a server that stalls before its headers fails the same way', async () => {
    mock.reply({ stallMs: 3000 });
    const started = Date.now();
    const err = await failureOf(callModel({ timeoutMs: 400 }));
    expect(err.type).toBe('ProviderTimeout');
    expect(err.message).toMatch(/took longer than 400 ms/);
    expect(Date.now() - started).toBeLessThan(1500);
  });

  test('a slow body that ends within the deadline is read whole', async () => {
    mock.reply({ trickleMs: 50, bytes: 4 });
    const out = await callModel({ timeoutMs: 2000 });
    expect(out.text).toBe('late');
  });

  test('a cancel during the trickle is still a cancellation, not a timeout', async () => {
    mock.reply({ trickleMs: 2000, bytes: 10 });
    const environment = new MockActivityEnvironment(undefined, { logger: silent });
    const running = callModel({ timeoutMs: 10_000 }, environment);
    running.catch(() => undefined);
    while (mock.requests.length === 0) await sleep(5);
    await sleep(300);
    const cancelledAt = Date.now();
    environment.cancel();
    const err = await running.then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(Date.now() - cancelledAt).toBeLessThan(1000);
    expect(err).toBeInstanceOf(CancelledFailure);
  });
});

describe('usage must be possible', () => {
  test.each([
    ['negative', { prompt_tokens: -5_000_000, completion_tokens: 10 }, 'usage.prompt_tokens = -5000000'],
    ['fractional', { prompt_tokens: 40, completion_tokens: 2.5 }, 'usage.completion_tokens = 2.5'],
    ['huge', { prompt_tokens: 1e12, completion_tokens: 10 }, 'usage.prompt_tokens = 1000000000000'],
    ['a string', { prompt_tokens: '40', completion_tokens: 10 }, 'usage.prompt_tokens = "40"'],
    ['an object', { prompt_tokens: 40, completion_tokens: { n: 1 } }, 'usage.completion_tokens = {"n":1}'],
  ])('%s usage is a ProviderBadResponse naming the field and value', async (_, usage, named) => {
    mock.reply({ text: 'hi', rawUsage: usage });
    const err = await failureOf(callModel());
    expect(err.type).toBe('ProviderBadResponse');
    // it may have been billed: the workflow charges it and reserves again rather than Temporal retrying it
    expect(err.nonRetryable).toBe(true);
    expect(err.message).toContain(named);
  });

  test('a huge string value is cut short in the message', async () => {
    mock.reply({ text: 'hi', rawUsage: { prompt_tokens: 'x'.repeat(50_000), completion_tokens: 1 } });
    const err = await failureOf(callModel());
    expect(err.type).toBe('ProviderBadResponse');
    expect(err.message.length).toBeLessThan(400);
  });

  test('absent usage stays absent (the step is charged its reservation elsewhere)', async () => {
    mock.reply({ text: 'hi', rawUsage: undefined }, { text: 'hi', rawUsage: { total_tokens: 5 } });
    expect((await callModel()).usage).toBeNull();
    expect((await callModel()).usage).toBeNull();
  });

  test('zero, and the most the request could hold and max_tokens allow, are accepted', async () => {
    mock.reply(
      { text: 'hi', rawUsage: { prompt_tokens: 0, completion_tokens: 0 } },
      { text: 'hi', rawUsage: { prompt_tokens: 40, completion_tokens: 64 } },
    );
    expect((await callModel()).usage).toEqual({ inputTokens: 0, outputTokens: 0 });
    expect((await callModel()).usage).toEqual({ inputTokens: 40, outputTokens: 64 });
  });
});

describe('secrets never leave in an error or a log line', () => {
  const KEY = 'sk-test-0123456789abcdefSECRET';
  const OTHER = 'org-secret-98765';
  const echo = (request: { headers: Record<string, unknown> }) =>
    JSON.stringify({
      error: { message: `Incorrect API key provided: ${String(request.headers.authorization)} (${OTHER})` },
    });

  test('a 401 echoing the Authorization header: the failure and the logs carry no key', async () => {
    registerSecret(KEY); // as createProviders does for each key it reads
    logged.length = 0;
    mock.reply({ status: 401, body: echo });
    const err = await failureOf(callModel({ apiKey: KEY, secrets: [OTHER] }));
    expect(mock.requests[0]!.headers.authorization).toBe(`Bearer ${KEY}`); // the key was sent…
    expect(err.type).toBe('ProviderRejected');
    expect(err.message).toContain('401');
    expect(err.message).toContain('Incorrect API key provided: Bearer [redacted] ([redacted])');
    // …and is nowhere in what reaches history: message, cause, stack
    const reported = JSON.stringify({ message: err.message, cause: err.cause, stack: err.stack });
    expect(reported).not.toContain(KEY);
    expect(reported).not.toContain(OTHER);

    logger.error({ err }, 'model call failed');
    logger.error({ request: { headers: { Authorization: `Bearer ${KEY}` } } }, `raw: ${KEY}`);
    logger.child({ taskId: 't' }).warn({ nested: [{ deep: `x${KEY}x` }] }, 'child');
    const lines = logged.join('');
    expect(logged.length).toBeGreaterThanOrEqual(3);
    expect(lines).not.toContain(KEY);
    expect(lines).toContain('[redacted]');
  });

  test('a retryable answer (503) echoing the key is scrubbed too', async () => {
    mock.reply({ status: 503, body: echo });
    const err = await failureOf(callModel({ apiKey: KEY }));
    expect(err.type).toBe('ProviderUnavailable');
    expect(err.message).not.toContain(KEY);
    expect(err.message).toContain('[redacted]');
  });

  test('an unreadable 200 echoing the key is scrubbed too, even where the excerpt is cut', async () => {
    // the key straddles the 200-character excerpt: redacted first, cut after, so no prefix survives
    mock.reply({ status: 200, body: `{"choices":[],"pad":"${'x'.repeat(170)}${KEY}"}` });
    const err = await failureOf(callModel({ apiKey: 'sk-unregistered-key-42', secrets: [KEY] }));
    expect(err.type).toBe('ProviderBadResponse');
    expect(err.message).not.toContain(KEY.slice(0, 6));
  });

  test('createProviders registers each key it reads from the environment with the logger', async () => {
    const key = 'sk-from-env-5555-abcdef';
    process.env.STEWARD_TEST_PROVIDER_KEY = key;
    try {
      const config = parseConfig({
        providers: {
          p: {
            kind: 'openai-compatible',
            baseURL: 'http://127.0.0.1:9/v1',
            apiKeyEnv: 'STEWARD_TEST_PROVIDER_KEY',
          },
        },
        models: [{ id: 'r', provider: 'p', model: 'm' }],
      });
      expect(redactSecrets(`key ${key}`)).toBe(`key ${key}`);
      await createProviders(config);
      expect(redactSecrets(`key ${key}`)).toBe('key [redacted]');
      logged.length = 0;
      logger.info({ env: { key } }, `using ${key}`);
      expect(logged.join('')).not.toContain(key);
    } finally {
      delete process.env.STEWARD_TEST_PROVIDER_KEY;
    }
  });
});
