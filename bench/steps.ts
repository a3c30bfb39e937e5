/**
 * Steps per second of an agent task on the tuned dev server, against a bare Temporal workflow that
 * runs the same number of sequential activities in the same run. Run: npx tsx bench/steps.ts [steps] [tasks]
 */
import { Client, Connection } from '@temporalio/client';
import { bundleWorkflowCode, DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { mkdtempSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { z } from 'zod';
import { createStewardActivities } from '../src/activities';
import { AgentRegistry } from '../src/agents';
import type { AgentDefinition } from '../src/agents/definition';
import { parseConfig } from '../src/config/load';
import { BlobStore } from '../src/stores/blobStore';
import { StewardClient } from '../src/runtime/client';
import { startDevServer } from '../src/runtime/devServer';
import { ensureTemporalCli } from '../src/runtime/temporalCli';
import { createStewardWorker } from '../src/runtime/worker';
import { defineTool, ToolRegistry } from '../src/tools/registry';

const STEPS = Number(process.argv[2] ?? 20);
const TASKS = Number(process.argv[3] ?? 10);

const noopTool = defineTool({
  name: 'noop',
  description: 'does nothing',
  effect: 'read',
  dataClass: 'public',
  input: z.object({ step: z.number() }),
  output: z.object({ step: z.number() }),
  handler: async ({ step }) => ({ step }),
});

const agent: AgentDefinition = {
  name: 'bench',
  description: 'sequential no-op steps',
  instructions: 'n/a',
  tools: ['noop'],
  limits: { maxSteps: STEPS + 1 },
  plan: [
    ...Array.from({ length: STEPS }, (_, i) => ({
      id: `s${i}`,
      kind: 'tool' as const,
      tool: 'noop',
      input: { step: i },
    })),
    { id: 'done', kind: 'finish' as const, result: 'ok' },
  ],
};

async function timeSequential(label: string, runOne: (i: number) => Promise<unknown>): Promise<number> {
  await runOne(-1); // warm-up
  const started = process.hrtime.bigint();
  for (let i = 0; i < TASKS; i++) await runOne(i);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const stepsPerSecond = (STEPS * TASKS) / seconds;
  console.log(
    `${label.padEnd(28)} ${(seconds / TASKS).toFixed(3)} s/task  ${stepsPerSecond.toFixed(1)} steps/s`,
  );
  return stepsPerSecond;
}

async function main(): Promise<void> {
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  const server = await startDevServer({ cliPath: await ensureTemporalCli(), headless: true });
  const connection = await NativeConnection.connect({ address: server.address });
  const client = new Client({ connection: await Connection.connect({ address: server.address }) });
  const tools = new ToolRegistry().register(noopTool);
  const config = parseConfig({ policy: { approval: { approvers: ['bench'] } } });
  const activities = createStewardActivities({
    config,
    agents: new AgentRegistry([agent]),
    providers: new Map(),
    tools,
    blobs: new BlobStore(mkdtempSync(join(tmpdir(), 'bench-'))),
    logger: pino({ level: 'silent' }),
  });
  const stewardWorker = await createStewardWorker({ connection, taskQueue: 'bench-steward', activities });
  const bareWorker = await Worker.create({
    connection,
    taskQueue: 'bench-bare',
    workflowBundle: await bundleWorkflowCode({
      workflowsPath: require.resolve('./bareWorkflow'),
      logger: new DefaultLogger('ERROR'),
    }),
    activities: { noop: async (step: number) => ({ step }) },
  });
  const steward = new StewardClient(client, 'bench-steward');
  console.log(
    `${STEPS} sequential steps per task, ${TASKS} tasks one after another, tuned dev server, ${availableParallelism()} cores`,
  );
  await Promise.all([
    stewardWorker.runUntil(
      bareWorker.runUntil(async () => {
        const bare = await timeSequential('bare Temporal workflow', (i) =>
          client.workflow.execute('bareSteps', {
            taskQueue: 'bench-bare',
            workflowId: `bare-${i}-${Date.now()}`,
            args: [STEPS],
          }),
        );
        const agentRun = await timeSequential('steward agentRun (plan)', async () => {
          const result = await (await steward.start({ agent: agent.name, principal: 'bench' })).result();
          if (result.status !== 'completed') throw new Error(`bench task stopped: ${result.detail}`);
        });
        console.log(
          `steward overhead: ${(((bare - agentRun) / bare) * 100).toFixed(1)}% fewer steps/s than the baseline`,
        );
      }),
    ),
  ]);
  await connection.close();
  await server.stop();
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
