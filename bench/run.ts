/**
 * `npm run bench [-- W1 W3 --key=value …]`: Steward's agentRun against a bare Temporal workflow doing
 * the same work, on one tuned dev server in one run (issue 13). See bench/README.md.
 *
 * Each side's worker runs in a process of its own (bench/workerProcess.ts), so its CPU time and RSS
 * come from /proc without the client's; this process is the client (and W5's model server). The
 * workloads are in bench/workloads/, one module each; this file starts the server, the workers and
 * the model server, runs the workloads asked for and writes the report.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { gitHead, writeReport } from './report';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger } from '@temporalio/worker';
import { bundleStewardWorkflows } from '../src/runtime/worker';
import { startDevServer } from '../src/runtime/devServer';
import { ensureTemporalCli } from '../src/runtime/temporalCli';
import { MODEL_CALLS_PER_TASK, READ_TOOL } from './agents';
import { bareSide, bundleCode, type Kind, round, type Side, stewardSide, WorkerChild } from './driver';
import { profileResults } from './history';
import { Bench } from './measure';
import { BenchModelServer } from './modelServer';
import { loadAverage } from './procStats';
import { parseArgs, type Workload } from './runOptions';
import { cliWithPragmas, clusterServer, withPids } from './servers';
import { table, workloads } from './workloads';

// ---- main -------------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  const started = new Date();
  const loadAtStart = loadAverage();
  const log = (s: string) => console.log(`[${((Date.now() - started.getTime()) / 1000).toFixed(1)} s] ${s}`);
  log(
    `workloads ${options.workloads.join(' ')} on ${availableParallelism()} cores, load ${loadAtStart.join(' ')}`,
  );

  const dir = mkdtempSync(join(tmpdir(), 'steward-bench-'));
  const [stewardBundle, bareBundle] = await Promise.all([
    bundleStewardWorkflows({ logger: new DefaultLogger('ERROR') }).then((b) => b.code),
    bundleCode(require.resolve('./bareWorkflow')),
  ]);
  const bundlePath = { steward: join(dir, 'steward.js'), bare: join(dir, 'bare.js') };
  writeFileSync(bundlePath.steward, stewardBundle);
  writeFileSync(bundlePath.bare, bareBundle);
  log('bundled the workflow code');

  const model = await new BenchModelServer({
    delayMs: options.w5DelayMs,
    tool: READ_TOOL,
    finishAfter: MODEL_CALLS_PER_TASK - 1,
  }).start();
  const server = options.cluster
    ? clusterServer(options.cluster)
    : withPids(
        await startDevServer({
          cliPath: await cliWithPragmas(await ensureTemporalCli(), options.sqlitePragma, dir),
          headless: true,
          ...(options.dbFile ? { dbFile: join(dir, 'temporal.db') } : {}),
        }),
      );
  const connection = await Connection.connect({ address: server.address });
  const client = new Client({ connection });
  log(
    options.cluster
      ? `the cluster's Temporal server at ${server.address} (pid ${server.pid}) on PostgreSQL`
      : `tuned dev server at ${server.address} (pid ${server.pid})`,
  );

  const resultsDir = join(__dirname, 'results');
  const profDir = options.cpuProf
    ? join(resultsDir, 'profiles', started.toISOString().replace(/[:.]/g, '-'))
    : undefined;
  if (profDir) {
    // the summariser (bench/cpuProfile.ts) charges sandbox samples to the bundle's modules
    mkdirSync(profDir, { recursive: true });
    writeFileSync(join(profDir, 'steward.js'), stewardBundle);
    writeFileSync(join(profDir, 'bare.js'), bareBundle);
  }

  let workers: WorkerChild[] = [];
  const startSides = async (workload: Workload): Promise<Record<Kind, Side>> => {
    const queue = (kind: Kind) => `bench-${workload.toLowerCase()}-${kind}`;
    const base = { address: server.address, modelUrl: model.url, dataDir: join(dir, 'steward') };
    const more = (kind: Kind, queue: string, bundle: string, cache: number) =>
      Promise.all(
        Array.from({ length: options.workers - 1 }, () =>
          WorkerChild.start({
            ...base,
            kind,
            taskQueue: queue,
            bundlePath: bundle,
            ...(kind === 'steward' ? { audit: options.stewardAudit as 'local' | 'none' } : {}),
            ...(cache ? { maxCachedWorkflows: cache } : {}),
          }),
        ),
      );
    const [stewardWorker, bareWorker, stewardOthers, bareOthers] = await Promise.all([
      WorkerChild.start(
        {
          ...base,
          kind: 'steward',
          taskQueue: queue('steward'),
          bundlePath: bundlePath.steward,
          audit: options.stewardAudit as 'local' | 'none',
          ...(options.stewardCache ? { maxCachedWorkflows: options.stewardCache } : {}),
        },
        profDir && join(profDir, `${workload}-steward`),
      ),
      WorkerChild.start(
        {
          ...base,
          kind: 'bare',
          taskQueue: queue('bare'),
          bundlePath: bundlePath.bare,
          ...(options.bareCache ? { maxCachedWorkflows: options.bareCache } : {}),
        },
        profDir && join(profDir, `${workload}-bare`),
      ),
      more('steward', queue('steward'), bundlePath.steward, options.stewardCache),
      more('bare', queue('bare'), bundlePath.bare, options.bareCache),
    ]);
    workers = [stewardWorker, bareWorker, ...stewardOthers, ...bareOthers];
    return {
      steward: {
        ...stewardSide(client, queue('steward'), stewardWorker, base.dataDir),
        others: stewardOthers,
      },
      bare: { ...bareSide(client, queue('bare'), bareWorker), others: bareOthers },
    };
  };

  const stopAll = async () => {
    await Promise.allSettled(workers.map((w) => w.stop()));
    await connection.close().catch(() => undefined);
    await server.stop();
    await model.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('SIGINT', () => void stopAll().then(() => process.exit(130)));

  const results: Record<string, unknown> = {};
  try {
    for (const workload of options.workloads) {
      // fresh worker processes for every workload: RSS and caches start from nothing
      const sides = await startSides(workload);
      const bench = new Bench(server.pids, client, sides, options);
      log(
        `${workload}: workers ready (steward pid ${sides.steward.worker.pid}, bare pid ${sides.bare.worker.pid})`,
      );
      const t = Date.now();
      results[workload] = await workloads[workload].run(bench, model);
      log(`${workload}: done in ${((Date.now() - t) / 1000).toFixed(1)} s`);
      await Promise.all(workers.map((w) => w.stop()));
      workers = [];
    }
    const historyProfile = await profileResults(client, results);
    const loadAtEnd = loadAverage();
    const summary = table(results);
    const report = {
      startedAt: started.toISOString(),
      durationS: round((Date.now() - started.getTime()) / 1000),
      command: ['npm run bench', ...(process.argv.length > 2 ? ['--', ...process.argv.slice(2)] : [])].join(
        ' ',
      ),
      ...gitHead(),
      machine: { cores: availableParallelism(), loadAtStart, loadAtEnd },
      server: options.cluster
        ? { cluster: options.cluster, tuned: true, pid: server.pid, postgres: 'counted with the server' }
        : { tuned: true, pid: server.pid },
      note: 'worker processes are separate from the client; client CPU includes W5 model server',
      options,
      results,
      historyProfile,
      table: summary,
    };
    const file = writeReport('', started, report);
    console.log(`\n${summary}\n`);
    console.log(
      `CPU per step: server = the dev server process, worker = the side's worker process, client = this process ` +
        `(the driver and W5's model server). Other load: mean cores busy in other processes during the phase ` +
        `(other people's work on this machine); compare the two sides of one row, and distrust a row whose ` +
        `two sides saw very different other load.`,
    );
    console.log(`load average ${loadAtStart.join(' ')} → ${loadAtEnd.join(' ')}; results in ${file}`);
  } finally {
    await stopAll();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
