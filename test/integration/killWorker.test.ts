import { ed25519 } from '@noble/curves/ed25519';
import { bytesToHex } from '@noble/hashes/utils';
import type { ChildProcess } from 'node:child_process';
import { Client, Connection } from '@temporalio/client';
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { StewardClient } from '../../src/runtime/client';
import { LedgerServer } from '../support/ledgerServer';
import { recordHistory } from '../support/replayRecorder';
import { ledgerId } from '../../src/activities/spend';
import { committed, utcDay } from '../../src/policies/ledger';
import { ledgerQuery } from '../../src/workflows/messages';
import { eventually, testAddress, uniqueName } from '../support/harness';
import { startWorkerProcess, stopWorkerProcesses } from '../support/workerChild';
import { MockOpenAI } from '../support/mockOpenAI';
import { answerAgent, chargeAgent } from '../support/slowCharge';

test('a worker killed with SIGKILL in the middle of a side-effecting tool is replaced, and the effect happens exactly once', async () => {
  const ledger = await new LedgerServer().start();
  const dir = mkdtempSync(join(process.env.STEWARD_TEST_DIR ?? '/tmp', 'kill-'));
  const taskQueue = uniqueName('kill');
  const env = {
    TASK_QUEUE: taskQueue,
    WORKSPACE: dir,
    BLOB_DIR: join(dir, 'blobs'),
    LEDGER_URL: ledger.url,
    TEMPORAL_ADDRESS: testAddress(),
  };
  const request = { agent: chargeAgent.name, principal: 'bob', taskId: uniqueName('charge') };
  const connection = await Connection.connect({ address: testAddress() });
  const client = new StewardClient(new Client({ connection }), taskQueue);

  let first = await startWorkerProcess(env);
  const charged = new Promise<void>((resolve) => ledger.onRequest(resolve));
  const handle = await client.start(request);
  await charged; // the charge went through; the tool is still running
  const killed = new Promise((resolve) => first.once('exit', resolve));
  first.kill('SIGKILL');
  await killed;
  expect(first.signalCode).toBe('SIGKILL');

  const second = await startWorkerProcess(env);
  try {
    const result = await handle.result();
    expect(result).toMatchObject({ status: 'completed', result: 'charge 1' });
    expect(ledger.effects.size).toBe(1); // exactly once…
    expect(ledger.requests).toBe(2); // …although the retried tool called the ledger again with the same key
    const failures = (await handle.fetchHistory()).events!.filter(
      (e) => e.activityTaskTimedOutEventAttributes,
    );
    expect(failures).toHaveLength(0); // the retry happened within the activity, not as a new step
    await recordHistory('worker-killed-mid-tool', handle);
  } finally {
    second.kill('SIGTERM');
    first = second;
    await new Promise((resolve) => second.once('exit', resolve));
    await connection.close();
    await ledger.stop();
  }
}, 120_000);

test('a worker killed between reserving spend and settling it loses no reservation: the task finishes on another worker and settles once', async () => {
  const mock = new MockOpenAI();
  await mock.start();
  // the first call hangs on the worker we kill; its retry, on the next worker, answers
  mock.reply(
    { stallMs: 60_000 },
    { tool: 'finish', args: { result: 'answered' }, usage: { prompt: 100, completion: 50 } },
  );
  const dir = mkdtempSync(join(process.env.STEWARD_TEST_DIR ?? '/tmp', 'kill-ledger-'));
  const taskQueue = uniqueName('kill-ledger');
  const env = {
    TASK_QUEUE: taskQueue,
    WORKSPACE: dir,
    BLOB_DIR: join(dir, 'blobs'),
    LEDGER_URL: 'http://127.0.0.1:9',
    MODEL_URL: mock.url,
    DAILY_USD: '1',
    // both workers hold the same install key: the ledger believes only what a key it trusts signed
    AUDIT_KEY: bytesToHex(ed25519.utils.randomPrivateKey()),
    TEMPORAL_ADDRESS: testAddress(),
  };
  const connection = await Connection.connect({ address: testAddress() });
  const client = new StewardClient(new Client({ connection }), taskQueue);
  const principal = uniqueName('payer');
  const first = await startWorkerProcess(env);
  let second: ChildProcess | undefined;
  try {
    const handle = await client.start({ agent: answerAgent.name, principal, taskId: uniqueName('answer') });
    // the reservation is in the ledger and the model call is under way when the worker dies
    const ledger = client.client.workflow.getHandle(ledgerId(`principal:${principal}`));
    await eventually(async () => {
      const state = await ledger.query(ledgerQuery);
      return Object.keys(state.reservations).length === 1 && mock.requests.length === 1 ? true : undefined;
    }, 'a reservation and a model call in flight');
    const killed = new Promise((resolve) => first.once('exit', resolve));
    first.kill('SIGKILL');
    await killed;
    second = await startWorkerProcess(env);

    const result = await handle.result();
    expect(result).toMatchObject({ status: 'completed', result: 'answered' });
    const state = await eventually(async () => {
      const s = await ledger.query(ledgerQuery);
      return Object.keys(s.reservations).length === 0 ? s : undefined;
    }, 'the reservation settled');
    expect(state.settled).toHaveLength(1); // reserved once, settled once
    expect(committed(state, utcDay(Date.now())).usd).toBeCloseTo(result.spendUsd, 9);
    expect(result.spendUsd).toBeCloseTo((100 * 1 + 50 * 2) / 1e6, 9);
  } finally {
    await stopWorkerProcesses([first, second]);
    await connection.close();
    await mock.stop();
  }
}, 120_000);
