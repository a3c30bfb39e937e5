import { ed25519 } from '@noble/curves/ed25519';
import type { Logger as TemporalLogger } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { createActivities } from '../../src/activities';
import type { ModelCallInput, ModelCallOutput } from '../../src/activities/model';
import { checkSettle } from '../../src/audit/ledgerSigning';
import { keyFingerprint, publicKeyOf } from '../../src/audit/signing';
import { OpenAICompatibleProvider } from '../../src/providers/openaiCompatible';
import type { ModelProvider } from '../../src/providers/types';
import type { ModelRoute } from '../../src/shared/types';
import { BlobStore } from '../../src/stores/blobStore';
import { ToolRegistry } from '../../src/tools/registry';
import { failureOf } from '../support/failures';
import { MockOpenAI } from '../support/mockOpenAI';

/** The model activity against a real local server: usage it believes, and the cost it signs for the ledgers. */

const silent: TemporalLogger = { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} };
const mock = new MockOpenAI();
let dir: string;
let blobs: BlobStore;
const auditKey = (() => {
  const privateKey = ed25519.utils.randomPrivateKey();
  const publicKey = publicKeyOf(privateKey);
  return { keyId: `worker-${keyFingerprint(publicKey)}`, publicKey, privateKey };
})();

const paid: ModelRoute = {
  id: 'r',
  provider: 'mock',
  model: 'm',
  trust: 'public',
  price: { inputPerMTok: 1, outputPerMTok: 2 },
};

function callModel(overrides: Partial<ModelCallInput> = {}): Promise<ModelCallOutput> {
  const provider = new OpenAICompatibleProvider({ name: 'mock', baseURL: mock.url });
  const providers = new Map<string, ModelProvider>([['mock', provider]]);
  const activities = createActivities({
    providers,
    tools: new ToolRegistry(),
    blobs,
    logger: pino({ level: 'silent' }),
    auditKey,
  });
  const input: ModelCallInput = {
    taskId: 'task-1',
    step: 1,
    route: paid,
    messages: [{ role: 'user', content: ['Say something.'] }],
    mode: 'text',
    tools: [],
    allowFinish: false,
    maxOutputTokens: 64,
    ...overrides,
  };
  return new MockActivityEnvironment(undefined, { logger: silent }).run(activities.callModel, input);
}

beforeAll(async () => {
  await mock.start();
  dir = mkdtempSync(join(tmpdir(), 'steward-ledger-model-'));
  mkdirSync(join(dir, 'blobs'));
  blobs = new BlobStore(join(dir, 'blobs'));
});
afterAll(async () => {
  await mock.stop();
  rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => mock.reset());

describe('usage nobody could have produced is a bad response', () => {
  test('10,000,000 prompt tokens for a one-line request', async () => {
    mock.reply({ text: 'hi', rawUsage: { prompt_tokens: 10_000_000, completion_tokens: 10 } });
    const err = await failureOf(callModel());
    expect(err.type).toBe('ProviderBadResponse');
    expect(err.message).toMatch(
      /impossible usage: 10000000 prompt tokens for a request that can hold at most \d+/,
    );
    expect(err.nonRetryable).toBe(true); // the workflow charges it and reserves again
  });

  test('more completion tokens than max_tokens', async () => {
    mock.reply({ text: 'hi', rawUsage: { prompt_tokens: 10, completion_tokens: 65 } });
    const err = await failureOf(callModel());
    expect(err.type).toBe('ProviderBadResponse');
    expect(err.message).toMatch(/65 completion tokens where max_tokens was 64/);
  });

  test('on a free route the same answer stays retryable: a retry costs nothing', async () => {
    mock.reply({ text: 'hi', rawUsage: { prompt_tokens: 10, completion_tokens: 65 } });
    const err = await failureOf(
      callModel({ route: { ...paid, price: { inputPerMTok: 0, outputPerMTok: 0 } } }),
    );
    expect(err.type).toBe('ProviderBadResponse');
    expect(err.nonRetryable).toBe(false);
  });
});

describe('the cost it signs for the ledgers', () => {
  test('each account holding the reservation gets a signature over the cost the workflow charges', async () => {
    mock.reply({ text: 'hi', usage: { prompt: 30, completion: 20 } });
    const accounts = ['principal:alice', 'agent:writer'];
    const out = await callModel({ spend: { id: 'task-1:1:r', accounts } });
    expect(out.usage).toEqual({ inputTokens: 30, outputTokens: 20 });
    const cost = { id: 'task-1:1:r', usd: (30 * 1 + 20 * 2) / 1e6, tokens: 50 };
    for (const account of accounts)
      expect(checkSettle([auditKey.publicKey], account, cost, out.settlements?.[account])).toBeNull();
    // the signature covers exactly that cost: a lower one does not verify
    expect(
      checkSettle([auditKey.publicKey], accounts[0]!, { ...cost, usd: 0 }, out.settlements?.[accounts[0]!]),
    ).toMatch(/does not match/);
  });

  test('no reservation or no usage: nothing is signed (the ledger then charges the reservation)', async () => {
    mock.reply({ text: 'hi', usage: { prompt: 30, completion: 20 } }, { text: 'hi', rawUsage: undefined });
    expect((await callModel()).settlements).toBeUndefined();
    expect((await callModel({ spend: { id: 'x', accounts: ['principal:a'] } })).settlements).toBeUndefined();
  });
});
