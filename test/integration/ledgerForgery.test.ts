import { ed25519 } from '@noble/curves/ed25519';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { WorkflowFailedError, WorkflowUpdateFailedError } from '@temporalio/client';
import type { AgentDefinition } from '../../src/agents/definition';
import { createSpendActivities, ledgerId } from '../../src/activities/spend';
import { signReserve, signSettle } from '../../src/audit/ledgerSigning';
import { keyFingerprint, publicKeyOf } from '../../src/audit/signing';
import { committed, utcDay, type LedgerState } from '../../src/policies/ledger';
import { OpenAICompatibleProvider } from '../../src/providers/openaiCompatible';
import { findTemporalCli } from '../../src/runtime/temporalCli';
import { ledgerQuery } from '../../src/workflows/messages';
import { eventually, Harness, testAddress, uniqueName } from '../support/harness';
import { MockOpenAI } from '../support/mockOpenAI';

/**
 * The spend ledger believes only its worker (issue 18, items 4 and 5, and the trickle of item 8):
 * forged settles, reserves and carried state are sent with the real Temporal client and CLI.
 */

const answerer: AgentDefinition = {
  name: 'test-answerer',
  description: 'answers in one model call',
  instructions: 'Answer.',
  tools: ['read_file'],
};

const trickler = new MockOpenAI();
let harness: Harness;
beforeAll(async () => {
  await trickler.start();
  // a provider whose deadline is short: a trickled body times out in 300 ms
  const trickle = new OpenAICompatibleProvider({ name: 'trickle', baseURL: trickler.url, timeoutMs: 300 });
  harness = new Harness({ providers: { trickle } });
  await harness.start();
});
afterAll(async () => {
  await harness.stop();
  await trickler.stop();
});
beforeEach(() => {
  harness.mock.reset();
  harness.mock.requests.length = 0;
  trickler.reset();
  trickler.requests.length = 0;
});

const stranger = (() => {
  const privateKey = ed25519.utils.randomPrivateKey();
  const publicKey = publicKeyOf(privateKey);
  return { keyId: `stranger-${keyFingerprint(publicKey)}`, publicKey, privateKey };
})();

function capped(dailyUsd: number) {
  const config = harness.config();
  config.budgets = { principal: { dailyUsd } };
  return config;
}

function ledgerHandle(account: string) {
  return harness.client.client.workflow.getHandle(ledgerId(account));
}

function ledgerOf(account: string): Promise<LedgerState> {
  return ledgerHandle(account).query(ledgerQuery);
}

const today = () => utcDay(Date.now());

/** The ledger once every reservation in it is settled. */
function settledLedger(account: string): Promise<LedgerState> {
  return eventually(async () => {
    const s = await ledgerOf(account);
    return Object.keys(s.reservations).length === 0 ? s : undefined;
  }, `every reservation of ${account} settled`);
}

describe('forged ledger messages', () => {
  test('a forged settle {usd: 0} while a step runs charges the full reservation, never less', async () => {
    // the call stalls, so the reservation is open while the forger signals
    harness.mock.reply({
      stallMs: 1500,
      then: { tool: 'finish', args: { result: 'ok' }, usage: { prompt: 100, completion: 50 } },
    });
    const principal = uniqueName('forger');
    const account = `principal:${principal}`;
    const task = await harness.launch(harness.spec(answerer, { principal }, capped(0.01)));
    const [id, reserved] = await eventually(async () => {
      const open = Object.entries((await ledgerOf(account)).reservations);
      return open.length === 1 ? open[0]! : undefined;
    }, 'the step’s reservation');
    // unsigned, and signed by a key nobody trusts: both as the issue's forger sent them
    await ledgerHandle(account).signal('settle', {
      id,
      usd: 0,
      tokens: 0,
      signature: signSettle(stranger, account, { id, usd: 0, tokens: 0 }),
    });
    await ledgerHandle(account).signal('settle', { id, usd: 0, tokens: 0 });

    const result = await task.result();
    expect(result).toMatchObject({ status: 'completed', result: 'ok' });
    expect(result.spendUsd).toBeCloseTo((100 * 1 + 50 * 2) / 1e6, 9);
    const state = await settledLedger(account);
    // the forged settle closed the reservation at its full amount: more than the call cost, not $0
    expect(committed(state, today()).usd).toBeCloseTo(reserved.usd, 9);
    expect(reserved.usd).toBeGreaterThan(result.spendUsd);
    expect(state.settled).toEqual([id]);
  }, 60_000);

  test('honest steps settle at what they cost: the model activity’s signature is accepted', async () => {
    harness.mock.otherwise({
      tool: 'finish',
      args: { result: 'ok' },
      usage: { prompt: 100, completion: 50 },
    });
    const principal = uniqueName('honest');
    const results = await Promise.all(
      [1, 2, 3].map(async () =>
        (await harness.launch(harness.spec(answerer, { principal }, capped(0.01)))).result(),
      ),
    );
    const spent = results.reduce((sum, r) => sum + r.spendUsd, 0);
    expect(spent).toBeCloseTo((3 * (100 * 1 + 50 * 2)) / 1e6, 9);
    const state = await settledLedger(`principal:${principal}`);
    expect(committed(state, today()).usd).toBeCloseTo(spent, 9);
  }, 60_000);

  test('a forged reserve (unsigned, or signed by an untrusted key) is refused and changes nothing', async () => {
    harness.mock.otherwise({ tool: 'finish', args: { result: 'ok' }, usage: { prompt: 10, completion: 10 } });
    const principal = uniqueName('reserver');
    const account = `principal:${principal}`;
    await (await harness.launch(harness.spec(answerer, { principal }, capped(0.01)))).result();
    const before = await settledLedger(account);
    const forged = {
      id: 'forged:1:primary',
      taskId: 'forged',
      usd: 5,
      tokens: 0,
      cap: { usd: 1e9 }, // the cap as the forger would like it
      expiresAt: Date.now() + 86_400_000,
    };
    const handle = ledgerHandle(account);
    const refusal = (args: [unknown]) =>
      handle.executeUpdate('reserve', { args }).then(
        () => 'granted',
        (err: WorkflowUpdateFailedError) => String(err.cause?.message),
      );
    expect(await refusal([forged])).toMatch(/reservation refused: not signed by a worker/);
    expect(await refusal([{ ...forged, signature: signReserve(stranger, account, forged) }])).toMatch(
      /which this ledger's worker does not trust/,
    );
    expect(await ledgerOf(account)).toEqual(before);
  }, 60_000);
});

describe('state carried into a ledger run', () => {
  const forgedState = (): LedgerState => ({
    days: { [today()]: { usd: -1000, tokens: 0 } },
    reservations: {},
    settled: [],
  });

  test('a raw `temporal workflow start --type ledger` with a state of -$1000 is refused; the next task starts a clean ledger', async () => {
    const principal = uniqueName('rich');
    const account = `principal:${principal}`;
    await promisify(execFile)(findTemporalCli()!, [
      'workflow',
      'start',
      '--address',
      testAddress(),
      '--type',
      'ledger',
      '--task-queue',
      harness.taskQueue,
      '--workflow-id',
      ledgerId(account),
      '--input',
      JSON.stringify(forgedState()),
    ]);
    const failed = await ledgerHandle(account)
      .result()
      .then(
        () => undefined,
        (err: unknown) => err,
      );
    expect(failed).toBeInstanceOf(WorkflowFailedError);
    expect(String((failed as WorkflowFailedError).cause?.message)).toMatch(
      /ledger state refused: only a continue-as-new may carry state/,
    );

    harness.mock.otherwise({
      tool: 'finish',
      args: { result: 'ok' },
      usage: { prompt: 100, completion: 50 },
    });
    const result = await (await harness.launch(harness.spec(answerer, { principal }, capped(0.01)))).result();
    expect(result.status).toBe('completed');
    const state = await settledLedger(account);
    expect(committed(state, today()).usd).toBeCloseTo(result.spendUsd, 9); // no -$1000 in it
  }, 60_000);

  test('a state signed by the worker’s own key, but for another run, is refused too', async () => {
    const account = `principal:${uniqueName('replayed')}`;
    const { signLedgerCarry } = createSpendActivities({
      auditKey: harness.auditKey,
      config: harness.config(),
    });
    const state = forgedState();
    const signature = await signLedgerCarry({ workflowId: ledgerId(account), runId: 'another-run', state });
    const handle = await harness.client.client.workflow.start('ledger', {
      workflowId: ledgerId(account),
      taskQueue: harness.taskQueue,
      args: [state, signature],
    });
    await expect(handle.result()).rejects.toThrow(WorkflowFailedError);
    const events = (await handle.fetchHistory()).events ?? [];
    const failure = events.find((e) => e.workflowExecutionFailedEventAttributes)
      ?.workflowExecutionFailedEventAttributes?.failure;
    expect(failure?.message).toMatch(/ledger state refused/);
  }, 60_000);

  test('the ledger’s own continue-as-new carries its signed state to the next run', async () => {
    harness.mock.otherwise({
      tool: 'finish',
      args: { result: 'ok' },
      usage: { prompt: 100, completion: 50 },
    });
    const principal = uniqueName('long-lived');
    const account = `principal:${principal}`;
    const result = await (await harness.launch(harness.spec(answerer, { principal }, capped(0.01)))).result();
    const before = await settledLedger(account);
    const firstRun = (await ledgerHandle(account).describe()).runId;
    // 2,000 messages make a ledger continue as new (settles of unknown ids change nothing)
    const ids = Array.from({ length: 2_000 }, (_, i) => `noise:${i}`);
    for (let i = 0; i < ids.length; i += 100) {
      await Promise.all(
        ids.slice(i, i + 100).map((id) => ledgerHandle(account).signal('settle', { id, usd: 0, tokens: 0 })),
      );
    }
    const nextRun = await eventually(async () => {
      const { runId } = await ledgerHandle(account).describe();
      return runId !== firstRun ? runId : undefined;
    }, 'the ledger continued as new');
    // the new run answers once it has checked the state it carries
    const after = await eventually(() => ledgerOf(account), 'the next run’s state');
    expect(nextRun).not.toBe(firstRun);
    expect(after).toEqual(before);
    expect(committed(after, today()).usd).toBeCloseTo(result.spendUsd, 9);
  }, 120_000);
});

describe('what a call is charged', () => {
  test('usage nobody could have produced (10M prompt and completion tokens, max_tokens 256) is a bad response: each attempt is charged its reservation, not $30', async () => {
    harness.mock.otherwise({
      tool: 'finish',
      args: { result: 'ok' },
      usage: { prompt: 10_000_000, completion: 10_000_000 },
    });
    const principal = uniqueName('absurd');
    const task = await harness.launch(harness.spec(answerer, { principal }, capped(0.01)));
    const result = await task.result();
    expect(result).toMatchObject({ status: 'stopped', stopReason: 'provider_failure' });
    const audit = await harness.client.audit(result.taskId);
    const failed = audit.filter((e) => e.kind === 'step.failed');
    const charged = audit.filter((e) => e.kind === 'model.charged_unsettled');
    expect(failed.length).toBeGreaterThanOrEqual(1);
    expect(failed.length).toBeLessThanOrEqual(4);
    for (const entry of failed) expect(String(entry.data.error)).toMatch(/impossible usage/);
    expect(charged).toHaveLength(failed.length);
    expect(harness.mock.requests).toHaveLength(failed.length);
    const perAttempt = charged.map((e) => e.data.costUsd as number);
    expect(result.spendUsd).toBeCloseTo(
      perAttempt.reduce((a, b) => a + b, 0),
      9,
    );
    expect(result.spendUsd).toBeLessThanOrEqual(0.01);
    const state = await settledLedger(`principal:${principal}`);
    expect(committed(state, today()).usd).toBeCloseTo(result.spendUsd, 9);
    expect(committed(state, today()).usd).toBeLessThanOrEqual(0.01);
  }, 60_000);

  test('a provider that sends headers then trickles: each of the four timed-out attempts is charged its reservation', async () => {
    trickler.otherwise({ trickleMs: 200, bytes: 100 });
    const config = capped(1);
    config.models = [
      {
        id: 'slow',
        provider: 'trickle',
        model: 'slow',
        trust: 'public',
        price: { inputPerMTok: 1, outputPerMTok: 2 },
      },
    ];
    const principal = uniqueName('trickled');
    const result = await (await harness.launch(harness.spec(answerer, { principal }, config))).result();
    expect(result).toMatchObject({ status: 'stopped', stopReason: 'provider_failure' });
    const audit = await harness.client.audit(result.taskId);
    const failed = audit.filter((e) => e.kind === 'step.failed');
    const charged = audit.filter((e) => e.kind === 'model.charged_unsettled');
    expect(trickler.requests).toHaveLength(4);
    expect(failed).toHaveLength(4);
    for (const entry of failed)
      expect(String(entry.data.error)).toMatch(/ProviderTimeout: .*took longer than 300 ms/);
    expect(charged).toHaveLength(4);
    const reservation = charged[0]!.data.costUsd as number;
    expect(reservation).toBeGreaterThan(0);
    expect(result.spendUsd).toBeCloseTo(4 * reservation, 9);
    const state = await settledLedger(`principal:${principal}`);
    expect(committed(state, today()).usd).toBeCloseTo(result.spendUsd, 9);
    // four reservations, one per attempt, each settled once
    expect(state.settled).toHaveLength(4);
  }, 60_000);
});
