/**
 * A Steward worker in its own process, so a test can kill it with SIGKILL mid-step. Configured by
 * environment: TEMPORAL_ADDRESS, TASK_QUEUE, WORKSPACE, BLOB_DIR, STEWARD_TEST_BUNDLE, LEDGER_URL.
 */
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { readFileSync } from 'node:fs';
import pino from 'pino';
import { createStewardActivities } from '../../src/activities';
import { AgentRegistry } from '../../src/agents';
import { parseConfig } from '../../src/config/load';
import { BlobStore } from '../../src/stores/blobStore';
import { createStewardWorker } from '../../src/runtime/worker';
import { builtinTools } from '../../src/tools/builtin';
import { ToolRegistry } from '../../src/tools/registry';
import { chargeAgent, slowCharge } from './slowCharge';

const env = (name: string): string => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
};

async function main(): Promise<void> {
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  const tools = new ToolRegistry().register(
    ...builtinTools({ workspace: env('WORKSPACE'), httpAllowlist: [] }),
    slowCharge,
  );
  // This worker's own rules: the charge tool needs no approval here.
  const config = parseConfig({
    policy: { rules: [{ id: 'test/allow-charges', tools: ['slow_charge'], decision: 'allow' }] },
  });
  const activities = createStewardActivities({
    config,
    agents: new AgentRegistry().register(chargeAgent),
    providers: new Map(),
    tools,
    blobs: new BlobStore(env('BLOB_DIR')),
    logger: pino({ level: 'silent' }),
  });
  const connection = await NativeConnection.connect({ address: env('TEMPORAL_ADDRESS') });
  const worker = await createStewardWorker({
    connection,
    taskQueue: env('TASK_QUEUE'),
    activities,
    workflowBundle: { code: readFileSync(env('STEWARD_TEST_BUNDLE'), 'utf8') },
  });
  process.on('SIGTERM', () => worker.shutdown());
  process.stdout.write('worker ready\n');
  await worker.run();
  await connection.close();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
