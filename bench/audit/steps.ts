/**
 * The steps part: one tuned dev server, two Steward worker processes that differ only in
 * `stores.audit` (`local` exports to files, `none` does not); the same tasks on both, interleaved,
 * one at a time: latency per task, added ms per step, worker and server CPU per step.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { GENESIS, verifyAudit } from '../../src/audit/chain';
import { checkHeadSignature } from '../../src/audit/head';
import { StewardClient } from '../../src/runtime/client';
import { startDevServer } from '../../src/runtime/devServer';
import { nodeSha256Hex } from '../../src/runtime/sha256';
import { ensureTemporalCli } from '../../src/runtime/temporalCli';
import { FileAuditStore } from '../../src/stores/auditStore';
import { ensureInstallKey } from '../../src/stores/keys';
import { AGENT_LONG, LONG_STEPS, STEPS_PER_TASK } from '../agents';
import {
  bundleCode,
  mapValues,
  percentile,
  round,
  type Side,
  spread,
  stewardSide,
  waitParked,
  WorkerChild,
} from '../driver';
import { addUse, cpuBetween, snapshot, ZERO_USE, type CpuUse } from '../procStats';
import { markdownLines, type Loose } from '../table';
import type { Options } from './options';

type Mode = 'local' | 'none';
const MODES: Mode[] = ['none', 'local'];

interface Series {
  values: number[];
  /** Approval tasks: approval sent → the approved tool starts in the worker. */
  approveToTool: number[];
  use: CpuUse;
}

export async function stepsPart(options: Options, dir: string, log: (s: string) => void) {
  const bundlePath = join(dir, 'steward.js');
  writeFileSync(bundlePath, await bundleCode(require.resolve('../../src/workflows')));
  log('bundled the workflow code');
  const server = await startDevServer({ cliPath: await ensureTemporalCli(), headless: true });
  const connection = await Connection.connect({ address: server.address });
  const client = new Client({ connection });
  const dataDir = join(dir, 'steward');
  const workers: WorkerChild[] = [];
  try {
    const sides = {} as Record<Mode, Side>;
    await Promise.all(
      MODES.map(async (mode) => {
        const taskQueue = `bench-audit-${mode}`;
        const worker = await WorkerChild.start({
          kind: 'steward',
          address: server.address,
          taskQueue,
          bundlePath,
          modelUrl: 'http://127.0.0.1:9/unused',
          dataDir,
          audit: mode,
        });
        workers.push(worker);
        sides[mode] = stewardSide(client, taskQueue, worker, dataDir);
      }),
    );
    log(
      `tuned dev server (pid ${server.pid}); workers: local ${sides.local.worker.pid}, none ${sides.none.worker.pid}`,
    );
    const tag = Date.now().toString(36);

    /** One task at a time, the two sides interleaved (none, local, none, …), CPU read around each. */
    const interleave = async (
      name: string,
      reps: number,
      run: (side: Side, id: string, mode: Mode) => Promise<{ ms: number; approveToTool?: number }>,
      warm = options.warm,
    ): Promise<Record<Mode, Series & { lastId: string }>> => {
      const out = {} as Record<Mode, Series & { lastId: string }>;
      for (const mode of MODES) {
        out[mode] = { values: [], approveToTool: [], use: ZERO_USE, lastId: '' };
        for (let w = 0; w < warm; w++) await run(sides[mode], `${name}-${mode}-${tag}-warm${w}`, mode);
      }
      for (let i = 0; i < reps; i++) {
        for (const mode of MODES) {
          const side = sides[mode];
          const id = `${name}-${mode}-${tag}-${i}`;
          const a = snapshot(server.pid, side.worker.pid);
          const r = await run(side, id, mode);
          const b = snapshot(server.pid, side.worker.pid);
          out[mode].values.push(r.ms);
          if (r.approveToTool !== undefined) out[mode].approveToTool.push(r.approveToTool);
          out[mode].use = addUse(out[mode].use, cpuBetween(a, b));
          out[mode].lastId = id;
        }
      }
      return out;
    };

    const steps = await interleave('steps', options.stepsReps, async (side, id) => {
      const t = performance.now();
      await side.runSteps(id);
      return { ms: performance.now() - t };
    });
    log(`steps: ${options.stepsReps} tasks a side`);
    const approval = await interleave('approval', options.approvalReps, async (side, id) => {
      const t = performance.now();
      await side.startParked(id);
      await waitParked(client, id);
      const parkedMs = performance.now() - t;
      const started = side.worker.startOf(id);
      const sent = Date.now();
      const t2 = performance.now();
      await side.approve(id);
      const at = await started;
      await side.result(id);
      return { ms: parkedMs + (performance.now() - t2), approveToTool: at - sent };
    });
    log(`approval: ${options.approvalReps} tasks a side`);
    const long = await interleave(
      'long',
      options.longReps,
      async (_side, id, mode) => {
        const steward = new StewardClient(client, `bench-audit-${mode}`, undefined);
        const t = performance.now();
        await steward.start({ agent: AGENT_LONG, principal: 'bench', taskId: id });
        const result = await steward.result(id);
        if (result.status !== 'completed') throw new Error(`${id} stopped: ${result.detail}`);
        return { ms: performance.now() - t };
      },
      options.longReps ? 1 : 0,
    );
    if (options.longReps) log(`long: ${options.longReps} tasks a side`);

    // What the exporting side wrote: one task's file, verified as `steward audit verify` would.
    const store = new FileAuditStore(join(dataDir, 'audit'));
    const installKey = ensureInstallKey(dataDir).publicKey;
    const trailOf = async (id: string) => {
      const { entries, heads } = await store.read(id);
      const head = heads.at(-1);
      const chain = verifyAudit(entries, GENESIS, { sha256Hex: nodeSha256Hex });
      return {
        entries: entries.length,
        heads: heads.length,
        headReasons: heads.map((h) => h.reason),
        bytesPerEntry: round(
          entries.reduce((n, e) => n + JSON.stringify(e).length + 1, 0) / Math.max(entries.length, 1),
        ),
        chainOk: chain.ok && head?.hash === chain.head && head.seq === entries.length,
        signatureOk: head ? checkHeadSignature(head, installKey) === null : false,
      };
    };
    const noneWrote = (await store.read(steps.none.lastId)).entries.length;
    const result = {
      steps: perTask(steps, STEPS_PER_TASK, 'a read step'),
      approval: perTask(approval, 1, 'a task (one approval)'),
      ...(options.longReps ? { long: perTask(long, LONG_STEPS, 'a read step') } : {}),
      exported: {
        steps: await trailOf(steps.local.lastId),
        approval: await trailOf(approval.local.lastId),
        ...(options.longReps ? { long: await trailOf(long.local.lastId) } : {}),
        noneSideEntriesWritten: noneWrote,
      },
    };
    const trails = [
      result.exported.steps,
      result.exported.approval,
      ...('long' in result.exported ? [result.exported.long] : []),
    ];
    if (trails.some((t) => !t?.chainOk || !t.signatureOk) || noneWrote !== 0)
      throw new Error(`the exported trails are not what they should be: ${JSON.stringify(result.exported)}`);
    return result;
  } finally {
    await Promise.allSettled(workers.map((w) => w.stop()));
    await connection.close().catch(() => undefined);
    await server.stop();
  }
}

function perTask(r: Record<Mode, Series>, stepsPerTask: number, step: string) {
  const side = (mode: Mode) => {
    const s = r[mode];
    const n = s.values.length;
    const mean = s.values.reduce((a, b) => a + b, 0) / n;
    return {
      taskMs: {
        ...mapValues(spread(s.values), (v) => round(v)),
        p95: round(percentile(s.values, 95)),
        mean: round(mean),
      },
      ...(s.approveToTool.length
        ? {
            approveToToolMs: {
              p50: round(percentile(s.approveToTool, 50)),
              p95: round(percentile(s.approveToTool, 95)),
            },
          }
        : {}),
      cpuMsPerStep: {
        worker: round(s.use.workerMs / (n * stepsPerTask), 2),
        server: round(s.use.serverMs / (n * stepsPerTask), 2),
        client: round(s.use.clientMs / (n * stepsPerTask), 2),
      },
      otherCores: round(s.use.otherMs / s.use.wallMs, 2),
    };
  };
  const none = side('none');
  const local = side('local');
  return {
    stepsPerTask,
    step,
    none,
    local,
    addedMsPerStep: {
      p50: round((local.taskMs.p50 - none.taskMs.p50) / stepsPerTask, 2),
      p95: round((local.taskMs.p95 - none.taskMs.p95) / stepsPerTask, 2),
      mean: round((local.taskMs.mean - none.taskMs.mean) / stepsPerTask, 2),
    },
    addedWorkerCpuMsPerStep: round(local.cpuMsPerStep.worker - none.cpuMsPerStep.worker, 2),
    addedServerCpuMsPerStep: round(local.cpuMsPerStep.server - none.cpuMsPerStep.server, 2),
  };
}

/** The steps table's lines, a blank line, and what the exporting side wrote. */
export function stepsTable(s: Loose): string[] {
  const lines: string[] = [];
  const row = (label: string, r: Loose, approval: boolean) => [
    label,
    `${r.none.taskMs.p50} / ${r.none.taskMs.p95} ms`,
    `${r.local.taskMs.p50} / ${r.local.taskMs.p95} ms`,
    approval ? `${r.none.approveToToolMs.p50} / ${r.local.approveToToolMs.p50} ms` : '',
    `${r.addedMsPerStep.p50} / ${r.addedMsPerStep.p95} / ${r.addedMsPerStep.mean} ms`,
    `${r.none.cpuMsPerStep.worker} / ${r.local.cpuMsPerStep.worker}`,
    `${r.none.cpuMsPerStep.server} / ${r.local.cpuMsPerStep.server}`,
    `${r.none.otherCores} / ${r.local.otherCores}`,
  ];
  lines.push(
    ...markdownLines(
      [
        'Task (n a side)',
        'Export off: p50 / p95',
        'Export to files: p50 / p95',
        'Approval → tool starts, p50 off / on',
        'Added per step: p50 / p95 / mean',
        'Worker CPU ms/step off / on',
        'Server CPU ms/step off / on',
        'Other load, cores off / on',
      ],
      [
        row(`10 read steps + finish (${s.steps.none.taskMs.n}); step = a read step`, s.steps, false),
        row(`one write approved (${s.approval.none.taskMs.n}); step = the task`, s.approval, true),
        ...(s.long
          ? [
              row(
                `${s.long.stepsPerTask} read steps + finish (${s.long.none.taskMs.n}); step = a read step`,
                s.long,
                false,
              ),
            ]
          : []),
      ],
    ),
    '',
  );
  const e = s.exported;
  lines.push(
    `Exported (last task of each): 10 steps: ${e.steps.entries} entries, ${e.steps.heads} signed head(s) (${e.steps.headReasons.join('; ')}), ${e.steps.bytesPerEntry} bytes an entry; ` +
      `approval: ${e.approval.entries} entries, ${e.approval.heads} heads (${e.approval.headReasons.join('; ')}); ` +
      (e.long
        ? `${s.long.stepsPerTask} steps: ${e.long.entries} entries, ${e.long.heads} heads (${e.long.headReasons.join('; ')}); `
        : '') +
      `the chains and signatures verify; the export-off side wrote nothing.`,
  );
  return lines;
}
