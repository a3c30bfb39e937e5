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

afterEach(() => restoreTopology());

test('the compute node running a job is stopped (SIGTERM): the job falls over to the other node, its effect once', async () => {
  const id = taskId('node-stop');
  await client.start({
    agent: 'cluster-compute',
    input: { url: ledger.url, holdMs: 8000 },
    principal: 'tester',
    taskId: id,
  });
  const first = await until('the job to start', () => effects(ledger)[0]);
  const node = processOf(first.body.pid)!;
  expect(cluster().nodes).toContain(node);
  await cluster().stop(node);

  const result = await resultOf(client, id);
  expect(result).toMatchObject({ status: 'completed', stopReason: 'completed' });
  const finisher = processOf(Number(/by (\d+)/.exec(String(result.result))![1]));
  expect(cluster().nodes).toContain(finisher);
  expect(finisher).not.toBe(node);
  expect(ledger.effects.size).toBe(1);
  const audit = await client.audit(id);
  // the audit says where it ran: one failed attempt on the stopped node, the job done on the other
  expect(audit.filter((e) => e.kind === 'step.failed').map((e) => e.data.route)).toEqual([node]);
  const completed = audit.filter((e) => e.kind === 'tool.completed');
  expect(completed.map((e) => e.data.node)).toEqual([finisher]);
});

test('with every compute node stopped, the task stops and says why', async () => {
  for (const node of cluster().nodes) await cluster().stop(node);
  const id = taskId('no-nodes');
  await client.start({
    agent: 'cluster-compute',
    input: { url: ledger.url, holdMs: 0 },
    principal: 'tester',
    taskId: id,
  });
  const result = await resultOf(client, id);
  expect(result.status).toBe('stopped');
  expect(result.stopReason).toBe('tool_failure');
  expect(result.detail).toMatch(/every compute node failed cluster_compute/);
  expect(effects(ledger).filter((e) => e.body.tool === 'cluster_compute' && e.id > 1)).toEqual([]);
});
