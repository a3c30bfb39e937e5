import type { StewardClient } from '../../src/runtime/client';
import type { LedgerServer } from '../support/ledgerServer';
import { cluster, effects, resultOf, taskId, until, openClientAndLedger } from './support/clusterTest';

let client: StewardClient;
let ledger: LedgerServer;

openClientAndLedger((opened) => ({ client, ledger } = opened));

afterAll(async () => {
  const control = cluster();
  if (!control.running('temporal')) await control.startServer();
});

test('the Temporal server is stopped (SIGTERM) mid-run and started again: the task completes, each effect once', async () => {
  const id = taskId('restart');
  await client.start({
    agent: 'cluster-steps',
    input: { url: ledger.url, holdMs: 1500 },
    principal: 'tester',
    taskId: id,
  });
  await until('the first charge', () => effects(ledger)[0]);

  const control = cluster();
  const stopped = Date.now();
  expect(await control.stop('temporal')).toBe('stopped'); // cleanly, within the grace
  const stopMs = Date.now() - stopped;
  // While it is down the workers keep running; what they complete waits for the server.
  await new Promise((r) => setTimeout(r, 2000));
  const restarted = Date.now();
  await control.startServer();
  const startMs = Date.now() - restarted;
  process.stderr.write(`server stopped in ${stopMs} ms, serving again in ${startMs} ms\n`);

  const result = await resultOf(client, id, 180_000);
  expect(result).toMatchObject({ status: 'completed', stopReason: 'completed' });
  expect(
    effects(ledger)
      .map((e) => e.body.amount)
      .sort(),
  ).toEqual([1, 2, 3, 4]);
  expect(ledger.effects.size).toBe(4);

  // and the restarted server takes new tasks
  const after = taskId('after-restart');
  await client.start({
    agent: 'cluster-charge',
    input: { url: ledger.url, holdMs: 0 },
    principal: 'tester',
    taskId: after,
  });
  expect(await resultOf(client, after)).toMatchObject({ status: 'completed' });
  expect(ledger.effects.size).toBe(5);
});
