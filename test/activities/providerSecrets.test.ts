import type { Logger as TemporalLogger } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createActivities } from '../../src/activities';
import { OpenAICompatibleProvider } from '../../src/providers/openaiCompatible';
import type { ModelProvider } from '../../src/providers/types';
import type { ModelRoute } from '../../src/shared/types';
import { createLogger } from '../../src/runtime/logger';
import { BlobStore } from '../../src/stores/blobStore';
import { ToolRegistry } from '../../src/tools/registry';
import type { ModelStepInput, ModelStepOutput } from '../../src/workflows/contract';
import { failureOf } from '../support/failures';
import { keyForms, leaksOf } from '../support/keyForms';
import { MockOpenAI } from '../support/mockOpenAI';

/**
 * The OpenAI-compatible provider against a real local server that echoes its API key back in every
 * form seen in the wild: no failure that reaches history and no answer that reaches the task carries it.
 */

const KEY = 'sk-live-7Hq2Wd9Xz4Kp1Lm8Rt5Vb3Nc6Yf0Gs2J';
const silent: TemporalLogger = { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} };
const logged: string[] = [];
const logger = createLogger({ write: (line: string) => void logged.push(line) });
const route: ModelRoute = { id: 'r', provider: 'mock', model: 'm', trust: 'public' };
const mock = new MockOpenAI();
let dir: string;
let blobs: BlobStore;
let provider: OpenAICompatibleProvider;

beforeAll(async () => {
  await mock.start();
  dir = mkdtempSync(join(tmpdir(), 'steward-provider-secrets-'));
  blobs = new BlobStore(join(dir, 'blobs'));
  // not registered with the process: the provider's own key is scrubbed by the provider itself
  provider = new OpenAICompatibleProvider({ name: 'mock', baseURL: mock.url, apiKey: KEY });
});
afterAll(async () => {
  await mock.stop();
  rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => mock.reset());

function callModel(overrides: Partial<ModelStepInput> = {}): Promise<ModelStepOutput> {
  const providers = new Map<string, ModelProvider>([['mock', provider]]);
  const activities = createActivities({ providers, tools: new ToolRegistry(), blobs, logger });
  const input: ModelStepInput = {
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
  return new MockActivityEnvironment(undefined, { logger: silent }).run(activities.callModel, input);
}

test.each([401, 503])('an HTTP %i echoing the key in every form fails with none of them', async (status) => {
  const forms = keyForms(KEY);
  mock.reply({
    status,
    body: JSON.stringify({
      error: {
        message: Object.entries(forms)
          .map(([form, text]) => `${form}: ${text}`)
          .join('; '),
      },
    }),
  });
  const err = await failureOf(callModel());
  expect(mock.requests.at(-1)!.headers.authorization).toBe(`Bearer ${KEY}`);
  expect(err.message).toMatch(new RegExp(`HTTP ${status}`));
  expect(err.message).toContain('base64: [redacted]');
  const reported = {
    message: err.message,
    details: JSON.stringify(err.details ?? null),
    stack: err.stack ?? '',
  };
  expect(leaksOf(KEY, reported)).toEqual([]);
});

test('a completion whose text holds the key is scrubbed before it is stored, and says so', async () => {
  mock.reply({ text: `Sure. Your key is ${KEY}, or ${Buffer.from(KEY).toString('base64')}.` });
  const answer = await provider.complete({
    messages: [{ role: 'user', content: 'what is my key?' }],
    mode: 'text',
    tools: [],
    model: 'm',
    maxOutputTokens: 64,
    signal: new AbortController().signal,
  });
  expect(answer.text).toBe('Sure. Your key is [redacted], or [redacted].');
  expect(answer.redacted).toEqual(['text']);

  // through the model activity: what the workflow gets (and history keeps) is the scrubbed text
  mock.reply({ text: `the key: ${KEY.toUpperCase()}` });
  const output = await callModel();
  expect(output.text).toBe('the key: [redacted]');
});

test('a tool call whose arguments hold the key: the arguments are scrubbed and stay JSON', async () => {
  mock.reply({ tool: 'finish', args: { result: `done with ${KEY}` } });
  const output = await callModel({ mode: 'action', allowFinish: true });
  expect(output.action?.tool).toBe('finish');
  expect(output.action?.input).toEqual({ result: 'done with [redacted]' });
  expect(leaksOf(KEY, { output: JSON.stringify(output) })).toEqual([]);
});

test('an answer with no key in it is passed on as it came, with nothing marked', async () => {
  mock.reply({ text: 'nothing secret here: sk-proj and 0123456789' });
  const answer = await provider.complete({
    messages: [{ role: 'user', content: 'hi' }],
    mode: 'text',
    tools: [],
    model: 'm',
    maxOutputTokens: 64,
    signal: new AbortController().signal,
  });
  expect(answer.text).toBe('nothing secret here: sk-proj and 0123456789');
  expect(answer.redacted).toBeUndefined();
  expect(logged.join('')).not.toContain(KEY);
});
