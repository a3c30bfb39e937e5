import type { StewardClient } from '../../src/runtime/client';
import type { LedgerServer } from '../support/ledgerServer';
import {
  cluster,
  effects,
  processesThatRan,
  resultOf,
  taskId,
  openClientAndLedger,
} from './support/clusterTest';

let client: StewardClient;
let ledger: LedgerServer;

openClientAndLedger((opened) => ({ client, ledger } = opened));

test('tasks spread over the two worker processes, and every one completes with one effect', async () => {
  const ids = Array.from({ length: 12 }, () => taskId('spread'));
  await Promise.all(
    ids.map((id) =>
      client.start({
        agent: 'cluster-charge',
        input: { url: ledger.url, holdMs: 200 },
        principal: 'tester',
        taskId: id,
      }),
    ),
  );
  const results = await Promise.all(ids.map((id) => resultOf(client, id)));
  for (const result of results)
    expect(result).toMatchObject({ status: 'completed', stopReason: 'completed' });

  // each task's one charge took effect exactly once
  expect(ledger.effects.size).toBe(ids.length);
  expect(new Set(effects(ledger).map((e) => e.body.amount))).toEqual(new Set([5]));

  const ran = new Set<string>();
  for (const id of ids) for (const name of await processesThatRan(client, id)) ran.add(name);
  const { workers } = cluster();
  expect(workers).toEqual(['worker-1', 'worker-2']);
  for (const worker of workers) expect(ran).toContain(worker);
});
