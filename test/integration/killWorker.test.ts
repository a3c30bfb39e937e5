import { spawn, type ChildProcess } from 'node:child_process';
import { Client, Connection } from '@temporalio/client';
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { StewardClient } from '../../src/runtime/client';
import { LedgerServer } from '../support/ledgerServer';
import { recordHistory } from '../support/replayRecorder';
import { testAddress, uniqueName } from '../support/harness';
import { chargeAgent } from '../support/slowCharge';

function startWorkerProcess(env: Record<string, string>): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    ['--require', 'tsx/cjs', join(__dirname, '..', 'support', 'workerProcess.ts')],
    {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('worker ready')) resolve(child);
    });
    child.on('exit', (code) => reject(new Error(`worker process exited early with ${code}`)));
  });
}

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
