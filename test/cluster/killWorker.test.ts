import type { StewardClient } from '../../src/runtime/client';
import type { LedgerServer } from '../support/ledgerServer';
import {
  cluster,
  effects,
  processOf,
  restoreTopology,
  resultOf,
  taskId,
  until,
  openClientAndLedger,
} from './support/clusterTest';

let client: StewardClient;
let ledger: LedgerServer;

openClientAndLedger((opened) => ({ client, ledger } = opened));

afterAll(async () => {
  await restoreTopology();
});

test('the process running a step is killed (SIGKILL) after its effect: another takes the step over and the effect happens once', async () => {
  const id = taskId('killed');
  await client.start({
    agent: 'cluster-charge',
    input: { url: ledger.url, holdMs: 8000 },
    principal: 'tester',
    taskId: id,
  });

  // The charge has taken effect and the step is held open: kill the process that made it.
  const first = await until('the first charge', () => effects(ledger)[0]);
  const victim = processOf(first.body.pid);
  expect(victim).toBeDefined();
  await cluster().kill(victim!);
  expect(cluster().running(victim!)).toBe(false);

  const result = await resultOf(client, id);
  expect(result).toMatchObject({ status: 'completed', stopReason: 'completed' });
  // Retried elsewhere (after the heartbeat timeout) with the same idempotency key: one effect.
  const finisher = Number(/by (\d+)/.exec(String(result.result))![1]);
  expect(finisher).not.toBe(first.body.pid);
  expect(ledger.requests).toBeGreaterThanOrEqual(2);
  expect(ledger.effects.size).toBe(1);
  expect([...ledger.effects.keys()]).toEqual([`${id}:1`]);
});
