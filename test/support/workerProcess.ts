/**
 * A Steward worker in its own process, so a test can kill it with SIGKILL mid-step. Configured by
 * environment: TEMPORAL_ADDRESS, TASK_QUEUE, WORKSPACE, BLOB_DIR, STEWARD_TEST_BUNDLE, LEDGER_URL, and
 * optionally MODEL_URL (a priced model route), DAILY_USD (a daily cap per principal), AUDIT_DIR (the
 * workers' shared audit store, files) and AUDIT_KEY (the Ed25519 private key, hex, that signs heads).
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
import { answerAgent, chargeAgent, chargeTwiceAgent, slowCharge } from './slowCharge';
import { OpenAICompatibleProvider } from '../../src/providers/openaiCompatible';
import { Client, Connection } from '@temporalio/client';
import { hexToBytes } from '@noble/hashes/utils';
import { keyFingerprint, publicKeyOf } from '../../src/audit/signing';
import { FileAuditStore } from '../../src/stores/auditStore';

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
  // This worker's own rules: the charge tool needs no approval here. With MODEL_URL, a priced model
  // route and, with DAILY_USD, a daily cap per principal (the spend ledger).
  const modelUrl = process.env.MODEL_URL;
  const config = parseConfig({
    policy: { rules: [{ id: 'test/allow-charges', tools: ['slow_charge'], decision: 'allow' }] },
    ...(modelUrl
      ? {
          providers: { mock: { kind: 'openai-compatible', baseURL: modelUrl } },
          models: [
            {
              id: 'primary',
              provider: 'mock',
              model: 'mock-large',
              price: { inputPerMTok: 1, outputPerMTok: 2 },
            },
          ],
        }
      : {}),
    ...(process.env.DAILY_USD ? { budgets: { principal: { dailyUsd: Number(process.env.DAILY_USD) } } } : {}),
  });
  const providers = new Map(
    modelUrl ? [['mock', new OpenAICompatibleProvider({ name: 'mock', baseURL: modelUrl })]] : [],
  );
  const auditKey = process.env.AUDIT_KEY ? hexToBytes(process.env.AUDIT_KEY) : undefined;
  const clientConnection = await Connection.connect({ address: env('TEMPORAL_ADDRESS') });
  const activities = createStewardActivities({
    config,
    agents: new AgentRegistry().register(chargeAgent).register(chargeTwiceAgent).register(answerAgent),
    providers,
    tools,
    blobs: new BlobStore(env('BLOB_DIR')),
    logger: pino({ level: 'silent' }),
    ledger: { client: new Client({ connection: clientConnection }), taskQueue: env('TASK_QUEUE') },
    ...(process.env.AUDIT_DIR ? { auditStore: new FileAuditStore(process.env.AUDIT_DIR) } : {}),
    ...(auditKey
      ? {
          auditKey: {
            keyId: `worker-${keyFingerprint(publicKeyOf(auditKey))}`,
            publicKey: publicKeyOf(auditKey),
            privateKey: auditKey,
          },
        }
      : {}),
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
  await clientConnection.close();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
