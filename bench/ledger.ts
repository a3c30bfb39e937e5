/**
 * What the shared spend ledger costs: the same task (3 paid model calls against a local
 * OpenAI-compatible server that answers at once) with a per-task budget only, then with a daily cap
 * per principal (each call reserved by update and settled by signal), alternating in one run on one
 * tuned dev server; then how many reservations one principal's ledger sustains.
 *
 *   npx tsx bench/ledger.ts [tasks=30] [reservations=500]
 */
import { ed25519 } from '@noble/curves/ed25519';
import { Client, Connection, WithStartWorkflowOperation } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { createStewardActivities } from '../src/activities';
import { ledgerId } from '../src/activities/spend';
import { signReserve } from '../src/audit/ledgerSigning';
import { publicKeyOf } from '../src/audit/signing';
import { AgentRegistry } from '../src/agents';
import type { AgentDefinition } from '../src/agents/definition';
import { parseConfig } from '../src/config/load';
import { OpenAICompatibleProvider } from '../src/providers/openaiCompatible';
import { StewardClient } from '../src/runtime/client';
import { startDevServer } from '../src/runtime/devServer';
import { ensureTemporalCli } from '../src/runtime/temporalCli';
import { createStewardWorker } from '../src/runtime/worker';
import { BlobStore } from '../src/stores/blobStore';
import { ToolRegistry } from '../src/tools/registry';
import { MockOpenAI } from '../test/support/mockOpenAI';

const TASKS = Number(process.argv[2] ?? 30);
const RESERVATIONS = Number(process.argv[3] ?? 500);
const CALLS = 3;

const drafter: AgentDefinition = {
  name: 'bench-drafter',
  description: 'three paid model calls',
  instructions: 'Write.',
  tools: [],
  plan: [
    { id: 'a', kind: 'draft', prompt: 'one' },
    { id: 'b', kind: 'draft', prompt: 'two' },
    { id: 'c', kind: 'draft', prompt: 'three' },
    { id: 'done', kind: 'finish', result: 'ok' },
  ],
};

const quantile = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.floor(q * (xs.length - 1))]!;

async function main(): Promise<void> {
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  const mock = new MockOpenAI();
  await mock.start();
  mock.otherwise({ text: 'fine', usage: { prompt: 20, completion: 5 } });
  const server = await startDevServer({ cliPath: await ensureTemporalCli(), headless: true });
  const client = new Client({ connection: await Connection.connect({ address: server.address }) });
  const connection = await NativeConnection.connect({ address: server.address });
  const blobs = new BlobStore(mkdtempSync(join(tmpdir(), 'bench-ledger-')));
  const providers = new Map([['mock', new OpenAICompatibleProvider({ name: 'mock', baseURL: mock.url })]]);
  const route = { id: 'm', provider: 'mock', model: 'm', price: { inputPerMTok: 1, outputPerMTok: 1 } };
  const base = { providers: { mock: { kind: 'openai-compatible', baseURL: mock.url } }, models: [route] };
  const queues = { perTask: 'bench-per-task', ledger: 'bench-ledger' };
  const privateKey = ed25519.utils.randomPrivateKey();
  const auditKey = { keyId: 'bench', publicKey: publicKeyOf(privateKey), privateKey };
  const workers = await Promise.all(
    Object.entries({
      [queues.perTask]: parseConfig(base),
      [queues.ledger]: parseConfig({ ...base, budgets: { principal: { dailyUsd: 1000 } } }),
    }).map(([taskQueue, config]) =>
      createStewardWorker({
        connection,
        taskQueue,
        activities: createStewardActivities({
          config,
          agents: new AgentRegistry([drafter]),
          providers,
          tools: new ToolRegistry(),
          blobs,
          logger: pino({ level: 'silent' }),
          ledger: { client, taskQueue },
          auditKey, // a ledger believes only reservations and settlements its worker's key signed
        }),
      }),
    ),
  );
  const running = workers.map((w) => w.run());

  const timings: Record<string, number[]> = { perTask: [], ledger: [] };
  for (let i = 0; i < TASKS; i++) {
    for (const kind of ['perTask', 'ledger'] as const) {
      const steward = new StewardClient(client, queues[kind]);
      const started = performance.now();
      const result = await (await steward.start({ agent: drafter.name, principal: 'bench' })).result();
      if (result.status !== 'completed') throw new Error(`bench task stopped: ${result.detail}`);
      if (i > 0) timings[kind]!.push(performance.now() - started); // the first of each warms up
    }
  }
  const p50 = { perTask: quantile(timings.perTask!, 0.5), ledger: quantile(timings.ledger!, 0.5) };
  console.log(`${TASKS} tasks of ${CALLS} paid model calls each, alternating, one tuned dev server`);
  console.log(`per-task budget only        p50 ${p50.perTask.toFixed(1)} ms/task`);
  console.log(`with the principal's ledger p50 ${p50.ledger.toFixed(1)} ms/task`);
  console.log(`reserve + settle per paid step: ${((p50.ledger - p50.perTask) / CALLS).toFixed(1)} ms`);

  // one principal's ledger, as fast as it answers: 20 reservations in flight
  const started = performance.now();
  let next = 0;
  const account = 'principal:throughput';
  await Promise.all(
    Array.from({ length: 20 }, async () => {
      while (next < RESERVATIONS) {
        const id = `r-${next++}`;
        const request = {
          id,
          taskId: 'bench',
          usd: 0.001,
          tokens: 10,
          cap: {},
          expiresAt: Date.now() + 3_600_000,
        };
        await client.workflow.executeUpdateWithStart('reserve', {
          args: [{ ...request, signature: signReserve(auditKey, account, request) }],
          startWorkflowOperation: new WithStartWorkflowOperation('ledger', {
            workflowId: ledgerId(account),
            taskQueue: queues.ledger,
            args: [],
            workflowIdConflictPolicy: 'USE_EXISTING',
          }),
        });
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  console.log(
    `one ledger: ${RESERVATIONS} reservations, 20 in flight: ${(RESERVATIONS / seconds).toFixed(0)}/s`,
  );

  for (const w of workers) w.shutdown();
  await Promise.all(running);
  await connection.close();
  await server.stop();
  await mock.stop();
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
