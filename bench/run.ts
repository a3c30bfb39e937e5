/**
 * `npm run bench [-- W1 W3 --key=value …]`: Steward's agentRun against a bare Temporal workflow doing
 * the same work, on one tuned dev server in one run (issue 13). See bench/README.md.
 *
 * Each side's worker runs in a process of its own (bench/workerProcess.ts), so its CPU time and RSS
 * come from /proc without the client's; this process is the client (and W5's model server).
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { gitHead, writeReport } from './report';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger } from '@temporalio/worker';
import { bundleStewardWorkflows } from '../src/runtime/worker';
import { readClusterState } from '../src/runtime/cluster/state';
import { startDevServer, type DevServer } from '../src/runtime/devServer';
import { ensureTemporalCli } from '../src/runtime/temporalCli';
import { MODEL_CALLS_PER_TASK, READ_TOOL, STEPS_PER_TASK } from './agents';
import {
  bareSide,
  bundleCode,
  type Kind,
  mapValues,
  pool,
  round,
  type Side,
  spread,
  stewardSide,
  waitParked,
  WorkerChild,
} from './driver';
import { payloadsOf, profileHistory, type HistoryProfile } from './history';
import { BenchModelServer } from './modelServer';
import { childPids, cpuBetween, loadAverage, snapshot, type CpuSnapshot, type CpuUse } from './procStats';

// ---- options ---------------------------------------------------------------------------------------

const WORKLOADS = ['W1', 'W2', 'W3', 'W4', 'W5'] as const;
type Workload = (typeof WORKLOADS)[number];

const DEFAULTS = {
  w1Reps: 30,
  w2Tasks: 200,
  w2InFlight: 20,
  w3Reps: 60,
  w4Parked: 1000,
  /**
   * A second, larger parked count, for RSS only (0: skip). The run reports how long 10,000 would take
   * to park at the rate it measured; pass --w4More=10000 to measure it (minutes per side on 2 cores).
   */
  w4More: 2000,
  w4Drain: 1000,
  w4DrainInFlight: 20,
  w4StartInFlight: 50,
  w5Tasks: 100,
  w5InFlight: 50,
  w5DelayMs: 300,
  /** Steward worker's maxCachedWorkflows (createStewardWorker's default when 0). */
  stewardCache: 0,
  /** Bare worker's maxCachedWorkflows (the SDK's default when 0). */
  bareCache: 0,
  /** Write a V8 CPU profile of each worker process under bench/results/profiles/. */
  cpuProf: 0,
  /** Keep the dev server's state in a SQLite file (as `steward dev` does) instead of in memory. */
  dbFile: 0,
  /** Worker processes per side, all polling the side's queue (W1, W2 and W5 only when above 1). */
  workers: 1,
};
const STRING_DEFAULTS = {
  /**
   * Steward's audit store: `local` (the default install's: files, heads signed with its key) or
   * `none` (no export at all), to see what exporting the trail costs a workload.
   */
  stewardAudit: 'local',
  /** Experiment: SQLite pragmas for the dev server (comma-separated, e.g. journal_mode=WAL,synchronous=NORMAL). */
  sqlitePragma: '',
  /**
   * Run against the PostgreSQL-backed cluster of `npm run cluster:up` in this directory (e.g.
   * .steward/cluster) instead of a dev server: its Temporal server and PostgreSQL count as the server.
   */
  cluster: '',
};
type Options = typeof DEFAULTS & typeof STRING_DEFAULTS & { workloads: Workload[] };

function parseArgs(argv: string[]): Options {
  const options: Options = { ...DEFAULTS, ...STRING_DEFAULTS, workloads: [] };
  for (const arg of argv) {
    const upper = arg.toUpperCase();
    if ((WORKLOADS as readonly string[]).includes(upper)) {
      options.workloads.push(upper as Workload);
      continue;
    }
    const match = arg.match(/^--([a-zA-Z0-9]+)(?:=(.*))?$/);
    if (match && match[1]! in STRING_DEFAULTS) {
      (options as Record<string, unknown>)[match[1]!] = match[2] ?? '';
      continue;
    }
    if (!match || !(match[1]! in DEFAULTS)) {
      throw new Error(
        `unknown argument ${arg}; give workloads (${WORKLOADS.join(' ')}) and --key=value for ${[...Object.keys(DEFAULTS), ...Object.keys(STRING_DEFAULTS)].join(', ')}`,
      );
    }
    const value = Number(match[2] ?? '1');
    if (!Number.isFinite(value) || value < 0) throw new Error(`${arg}: expected a number ≥ 0`);
    (options as Record<string, unknown>)[match[1]!] = value;
  }
  if (options.workers > 1 && options.workloads.some((w) => w === 'W3' || w === 'W4'))
    throw new Error('--workers above 1 is for W1, W2 and W5 (W3 and W4 read one worker process)');
  // W4 leaves thousands of parked tasks on the server: it runs last, whatever the order given
  options.workloads = WORKLOADS.filter(
    (w) => options.workloads.length === 0 || options.workloads.includes(w),
  );
  return options;
}

// ---- measurement ---------------------------------------------------------------------------------------

interface CpuPerStep {
  steps: number;
  wallMs: number;
  serverMsPerStep: number;
  workerMsPerStep: number;
  clientMsPerStep: number;
  /** Mean busy cores of other processes on the machine during the phase (other engineers' tests). */
  otherCores: number;
}

function perStep(use: CpuUse, steps: number): CpuPerStep {
  return {
    steps,
    wallMs: round(use.wallMs),
    serverMsPerStep: round(use.serverMs / steps, 2),
    workerMsPerStep: round(use.workerMs / steps, 2),
    clientMsPerStep: round(use.clientMs / steps, 2),
    otherCores: round(use.otherMs / use.wallMs, 2),
  };
}

function addUse(a: CpuUse, b: CpuUse): CpuUse {
  return {
    wallMs: a.wallMs + b.wallMs,
    serverMs: a.serverMs + b.serverMs,
    workerMs: a.workerMs + b.workerMs,
    clientMs: a.clientMs + b.clientMs,
    otherMs: a.otherMs + b.otherMs,
  };
}

const ZERO: CpuUse = { wallMs: 0, serverMs: 0, workerMs: 0, clientMs: 0, otherMs: 0 };

class Bench {
  readonly runTag = Date.now().toString(36);
  constructor(
    /** The server's processes: the dev server, or a cluster's Temporal server, PostgreSQL and its backends. */
    readonly serverPids: () => number[],
    readonly client: Client,
    readonly sides: Record<Kind, Side>,
    readonly options: Options,
  ) {}

  snap(side: Side): CpuSnapshot {
    return snapshot(
      this.serverPids(),
      [side.worker, ...(side.others ?? [])].map((w) => w.pid),
    );
  }

  async measure<T>(side: Side, steps: number, fn: () => Promise<T>): Promise<{ value: T; cpu: CpuPerStep }> {
    const a = this.snap(side);
    const value = await fn();
    return { value, cpu: perStep(cpuBetween(a, this.snap(side)), steps) };
  }

  id(workload: string, kind: Kind, i: number | string): string {
    return `${workload.toLowerCase()}-${kind}-${this.runTag}-${i}`;
  }

  /**
   * Sequential repetitions, the two sides interleaved (bare, steward, bare, …) so that load from
   * other processes falls on both alike; CPU is read around each repetition and summed per side.
   */
  async interleaved<N extends string>(
    workload: string,
    reps: number,
    stepsPerRep: number,
    series: Array<{ name: N; side: Side; rep: (id: string) => Promise<number> }>,
  ): Promise<Record<N, { values: number[]; cpu: CpuPerStep; lastId: string }>> {
    const out = new Map<N, { values: number[]; use: CpuUse; lastId: string }>();
    for (const { name, rep } of series) {
      out.set(name, { values: [], use: ZERO, lastId: '' });
      for (let w = 0; w < 3; w++) await rep(this.id(workload, name as Kind, `warm${w}`));
    }
    for (let i = 0; i < reps; i++) {
      for (const { name, side, rep } of series) {
        const id = this.id(workload, name as Kind, i);
        const a = this.snap(side);
        const value = await rep(id);
        const b = this.snap(side);
        const o = out.get(name)!;
        o.values.push(value);
        o.use = addUse(o.use, cpuBetween(a, b));
        o.lastId = id;
      }
    }
    const result = {} as Record<N, { values: number[]; cpu: CpuPerStep; lastId: string }>;
    for (const [name, o] of out) {
      result[name] = { values: o.values, cpu: perStep(o.use, reps * stepsPerRep), lastId: o.lastId };
    }
    return result;
  }

  // ---- W1: one task of 10 sequential no-op steps, latency -------------------------------------------

  async w1() {
    const reps = this.options.w1Reps;
    const timed = (run: (id: string) => Promise<void>) => async (id: string) => {
      const t = performance.now();
      await run(id);
      return performance.now() - t;
    };
    const { bare, steward } = this.sides;
    const r = await this.interleaved('W1', reps, STEPS_PER_TASK, [
      { name: 'bare', side: bare, rep: timed((id) => bare.runSteps(id)) },
      { name: 'steward', side: steward, rep: timed((id) => steward.runSteps(id)) },
      // a reference, not a goal: the same steps as local activities, what a bare workflow can do
      { name: 'bareLocal', side: bare, rep: timed((id) => bare.runStepsLocal!(id)) },
    ]);
    const sideResult = (name: keyof typeof r) => ({
      latencyMs: mapValues(spread(r[name].values), (v) => round(v)),
      cpu: r[name].cpu,
      historyOf: r[name].lastId,
    });
    const out = {
      steward: sideResult('steward'),
      bare: sideResult('bare'),
      bareLocal: sideResult('bareLocal'),
    };
    return {
      reps,
      ...out,
      ratio: round(out.steward.latencyMs.p50 / out.bare.latencyMs.p50, 2),
      bareLocalRatio: round(out.bareLocal.latencyMs.p50 / out.bare.latencyMs.p50, 2),
    };
  }

  // ---- W2: 200 tasks, 20 in flight, tasks/s -------------------------------------------------------

  async w2() {
    const { w2Tasks: tasks, w2InFlight: inFlight } = this.options;
    const { bare, steward } = this.sides;
    const series = [
      { name: 'bare', side: bare, run: (id: string) => bare.runSteps(id) },
      { name: 'steward', side: steward, run: (id: string) => steward.runSteps(id) },
      // a reference, not a goal: the same steps as local activities
      { name: 'bareLocal', side: bare, run: (id: string) => bare.runStepsLocal!(id) },
    ] as const;
    type Name = (typeof series)[number]['name'];
    const out = {} as Record<
      Name,
      { tasksPerSecond: number; latencyMs: ReturnType<typeof spread>; cpu: CpuPerStep }
    >;
    for (const { name, side, run } of series) {
      await pool(inFlight, inFlight, (i) => run(this.id('W2', name as Kind, `warm${i}`)));
      const latencies: number[] = [];
      const { cpu } = await this.measure(side, tasks * STEPS_PER_TASK, () =>
        pool(tasks, inFlight, async (i) => {
          const t = performance.now();
          await run(this.id('W2', name as Kind, i));
          latencies.push(performance.now() - t);
        }),
      );
      out[name] = {
        tasksPerSecond: round(tasks / (cpu.wallMs / 1000), 2),
        latencyMs: mapValues(spread(latencies), (v) => round(v)),
        cpu,
      };
    }
    return {
      tasks,
      inFlight,
      ...out,
      ratio: round(out.steward.tasksPerSecond / out.bare.tasksPerSecond, 2),
      bareLocalRatio: round(out.bareLocal.tasksPerSecond / out.bare.tasksPerSecond, 2),
    };
  }

  // ---- W3: approval sent → the approved tool starts ----------------------------------------------

  async w3() {
    const reps = this.options.w3Reps;
    const rep = (side: Side) => async (id: string) => {
      await side.startParked(id);
      await waitParked(this.client, id);
      const started = side.worker.startOf(id);
      const sent = Date.now();
      await side.approve(id);
      const at = await started;
      await side.result(id);
      return at - sent;
    };
    const r = await this.interleaved(
      'W3',
      reps,
      1,
      (['bare', 'steward'] as const).map((name) => ({
        name,
        side: this.sides[name],
        rep: rep(this.sides[name]),
      })),
    );
    const sideResult = (kind: Kind) => ({
      latencyMs: mapValues(spread(r[kind].values), (v) => round(v)),
      cpu: r[kind].cpu,
      historyOf: r[kind].lastId,
    });
    const steward = sideResult('steward');
    const bare = sideResult('bare');
    return {
      reps,
      steward,
      bare,
      p50OverBareMs: round(steward.latencyMs.p50 - bare.latencyMs.p50),
      p99OverBareMs: round(steward.latencyMs.p99 - bare.latencyMs.p99),
    };
  }

  // ---- W4: parked tasks: worker RSS, and draining their approvals -----------------------------------

  async park(side: Side, from: number, count: number) {
    const ids = Array.from({ length: count }, (_, i) => this.id('W4', side.kind, from + i));
    const { cpu } = await this.measure(side, count, async () => {
      await pool(count, this.options.w4StartInFlight, (i) => side.startParked(ids[i]!));
      await pool(count, 10, (i) => waitParked(this.client, ids[i]!));
    });
    return { ids, cpu, tasksPerSecond: round(count / (cpu.wallMs / 1000), 1) };
  }

  async w4() {
    const { w4Parked, w4More, w4Drain, w4DrainInFlight } = this.options;
    const out = {} as Record<Kind, Record<string, unknown>>;
    for (const kind of ['bare', 'steward'] as const) {
      const side = this.sides[kind];
      const idle = await side.worker.memory();
      const parked = await this.park(side, 0, w4Parked);
      const atParked = await side.worker.memory();
      const drainIds = parked.ids.slice(0, w4Drain);
      const latencies: number[] = [];
      const drain = await this.measure(side, drainIds.length, () =>
        pool(drainIds.length, w4DrainInFlight, async (i) => {
          const t = performance.now();
          await side.approve(drainIds[i]!);
          await side.result(drainIds[i]!);
          latencies.push(performance.now() - t);
        }),
      );
      const afterDrain = await side.worker.memory();
      let more: Record<string, unknown> | undefined;
      if (w4More > w4Parked) {
        const extra = await this.park(side, w4Parked, w4More);
        more = {
          parked: w4More,
          memory: await side.worker.memory(),
          park: extra.cpu,
          tasksPerSecond: extra.tasksPerSecond,
        };
      }
      out[kind] = {
        maxCachedWorkflows: side.worker.maxCachedWorkflows,
        heapLimitMb: round(side.worker.heapLimitMb),
        idle,
        parked: {
          count: w4Parked,
          memory: atParked,
          park: parked.cpu,
          tasksPerSecond: parked.tasksPerSecond,
          /** At the rate measured here, how long parking 10,000 would take (--w4More=10000 does it). */
          secondsToPark10000: Math.round(10_000 / parked.tasksPerSecond),
        },
        drain: {
          count: drainIds.length,
          inFlight: w4DrainInFlight,
          seconds: round(drain.cpu.wallMs / 1000, 2),
          latencyMs: mapValues(spread(latencies), (v) => round(v)),
          cpu: drain.cpu,
          memoryAfter: afterDrain,
        },
        ...(more ? { more } : {}),
      };
    }
    const mem = (kind: Kind) => (out[kind].parked as { memory: { rssMb: number } }).memory.rssMb;
    const drainS = (kind: Kind) => (out[kind].drain as { seconds: number }).seconds;
    return {
      ...out,
      rssRatio: round(mem('steward') / mem('bare'), 2),
      drainRatio: round(drainS('steward') / drainS('bare'), 2),
    };
  }

  // ---- W5: tasks of five 300 ms model calls, 50 in flight --------------------------------------------

  async w5(model: BenchModelServer) {
    const { w5Tasks: tasks, w5InFlight: inFlight, w5DelayMs } = this.options;
    const idealS = (Math.ceil(tasks / inFlight) * MODEL_CALLS_PER_TASK * w5DelayMs) / 1000;
    const out = {} as Record<Kind, Record<string, unknown> & { wallS: number; overIdealPct: number }>;
    for (const kind of ['bare', 'steward'] as const) {
      const side = this.sides[kind];
      await pool(5, 5, (i) => side.runModel(this.id('W5', kind, `warm${i}`)));
      model.resetCounters();
      const latencies: number[] = [];
      const { cpu } = await this.measure(side, tasks * MODEL_CALLS_PER_TASK, () =>
        pool(tasks, inFlight, async (i) => {
          const t = performance.now();
          await side.runModel(this.id('W5', kind, i));
          latencies.push(performance.now() - t);
        }),
      );
      const wallS = cpu.wallMs / 1000;
      out[kind] = {
        wallS: round(wallS, 2),
        overIdealPct: round((wallS / idealS - 1) * 100),
        taskSeconds: mapValues(spread(latencies), (v) => round(v / 1000, 2)),
        modelRequests: model.requests,
        maxInFlightAtModel: model.maxInFlight,
        cpu,
        historyOf: this.id('W5', kind, tasks - 1),
      };
    }
    return {
      tasks,
      inFlight,
      delayMs: w5DelayMs,
      idealS,
      ...out,
      ratio: round(out.steward.wallS / out.bare.wallS, 2),
    };
  }
}

// ---- the profile -----------------------------------------------------------------------------------------

async function profile(client: Client, results: Record<string, unknown>) {
  const out: Record<string, { steward?: HistoryProfile; bare?: HistoryProfile; stewardPayloads?: unknown }> =
    {};
  const ids = (w: string) => {
    const r = results[w] as { steward?: { historyOf?: string }; bare?: { historyOf?: string } } | undefined;
    return { steward: r?.steward?.historyOf, bare: r?.bare?.historyOf };
  };
  for (const w of ['W1', 'W3', 'W5']) {
    const { steward, bare } = ids(w);
    if (!steward || !bare) continue;
    const s = await profileHistory(client, steward);
    const payloads: Record<string, unknown> = {};
    for (const [type, entry] of Object.entries(s.byType)) {
      if (entry.payloadBytes > 0) payloads[type] = await payloadsOf(client, steward, type);
    }
    out[w] = { steward: s, bare: await profileHistory(client, bare), stewardPayloads: payloads };
  }
  return out;
}

// ---- output ------------------------------------------------------------------------------------------------

/* eslint-disable @typescript-eslint/no-explicit-any */
function table(results: Record<string, any>): string {
  const rows: string[][] = [];
  const cpuCells = (s?: CpuPerStep, b?: CpuPerStep) => [
    s && b ? `${s.serverMsPerStep} / ${b.serverMsPerStep}` : '',
    s && b ? `${s.workerMsPerStep} / ${b.workerMsPerStep}` : '',
    s && b ? `${s.clientMsPerStep} / ${b.clientMsPerStep}` : '',
    s && b ? `${s.otherCores} / ${b.otherCores}` : '',
  ];
  const signed = (n: number) => `${n >= 0 ? '+' : '−'}${Math.abs(n)}`;
  const w1 = results.W1;
  if (w1)
    rows.push([
      'W1 10 no-op steps, p50 latency',
      `${w1.steward.latencyMs.p50} ms`,
      `${w1.bare.latencyMs.p50} ms`,
      `${w1.ratio}×`,
      '≤ 0.5×',
      ...cpuCells(w1.steward.cpu, w1.bare.cpu),
    ]);
  if (w1?.bareLocal)
    rows.push([
      '(reference) W1 as 10 local activities, bare',
      '',
      `${w1.bareLocal.latencyMs.p50} ms`,
      `${w1.bareLocalRatio}× bare`,
      '',
      `– / ${w1.bareLocal.cpu.serverMsPerStep}`,
      `– / ${w1.bareLocal.cpu.workerMsPerStep}`,
      `– / ${w1.bareLocal.cpu.clientMsPerStep}`,
      `– / ${w1.bareLocal.cpu.otherCores}`,
    ]);
  const w2 = results.W2;
  if (w2)
    rows.push([
      `W2 ${w2.tasks} tasks, ${w2.inFlight} in flight, tasks/s`,
      `${w2.steward.tasksPerSecond}`,
      `${w2.bare.tasksPerSecond}`,
      `${w2.ratio}×`,
      '≥ 2×',
      ...cpuCells(w2.steward.cpu, w2.bare.cpu),
    ]);
  if (w2?.bareLocal)
    rows.push([
      '(reference) W2 as 10 local activities, bare',
      '',
      `${w2.bareLocal.tasksPerSecond}`,
      `${w2.bareLocalRatio}× bare`,
      '',
      `– / ${w2.bareLocal.cpu.serverMsPerStep}`,
      `– / ${w2.bareLocal.cpu.workerMsPerStep}`,
      `– / ${w2.bareLocal.cpu.clientMsPerStep}`,
      `– / ${w2.bareLocal.cpu.otherCores}`,
    ]);
  const w3 = results.W3;
  if (w3)
    rows.push([
      'W3 approval → tool starts, p50 / p99',
      `${w3.steward.latencyMs.p50} / ${w3.steward.latencyMs.p99} ms`,
      `${w3.bare.latencyMs.p50} / ${w3.bare.latencyMs.p99} ms`,
      `${signed(w3.p50OverBareMs)} / ${signed(w3.p99OverBareMs)} ms`,
      '≤ bare + 5 ms',
      ...cpuCells(w3.steward.cpu, w3.bare.cpu),
    ]);
  const w4 = results.W4;
  if (w4) {
    const s = w4.steward;
    const b = w4.bare;
    rows.push([
      `W4 worker RSS, ${s.parked.count} parked (cache ${s.maxCachedWorkflows} / ${b.maxCachedWorkflows})`,
      `${s.parked.memory.rssMb} MB (idle ${s.idle.rssMb})`,
      `${b.parked.memory.rssMb} MB (idle ${b.idle.rssMb})`,
      `${w4.rssRatio}×`,
      '≤ 200 MB at 10,000',
      ...cpuCells(s.parked.park, b.parked.park),
    ]);
    if (s.more && b.more)
      rows.push([
        `W4 worker RSS, ${s.more.parked} parked`,
        `${s.more.memory.rssMb} MB`,
        `${b.more.memory.rssMb} MB`,
        `${round(s.more.memory.rssMb / b.more.memory.rssMb, 2)}×`,
        '≤ 200 MB at 10,000',
        ...cpuCells(s.more.park, b.more.park),
      ]);
    rows.push([
      `W4 drain ${s.drain.count} approvals, ${s.drain.inFlight} at a time`,
      `${s.drain.seconds} s`,
      `${b.drain.seconds} s`,
      `${w4.drainRatio}×`,
      '≤ 1×',
      ...cpuCells(s.drain.cpu, b.drain.cpu),
    ]);
  }
  const w5 = results.W5;
  if (w5)
    rows.push([
      `W5 ${w5.tasks} tasks × 5 model calls, ${w5.inFlight} in flight, wall (over ${w5.idealS} s ideal)`,
      `${w5.steward.wallS} s (+${w5.steward.overIdealPct} %)`,
      `${w5.bare.wallS} s (+${w5.bare.overIdealPct} %)`,
      `${w5.ratio}×`,
      '≤ +10 %',
      ...cpuCells(w5.steward.cpu, w5.bare.cpu),
    ]);
  const header = [
    'Workload',
    'Steward',
    'Bare',
    'Steward/bare',
    'Goal',
    'Server CPU ms/step S / B',
    'Worker CPU ms/step S / B',
    'Client CPU ms/step S / B',
    'Other load, cores S / B',
  ];
  const lines = [header, header.map(() => '---'), ...rows].map((r) => `| ${r.join(' | ')} |`);
  return lines.join('\n');
}
/* eslint-enable @typescript-eslint/no-explicit-any */

/**
 * startDevServer takes no extra flags: pragmas go through a wrapper that execs the CLI with them
 * (exec keeps the pid, so /proc still reads the server).
 */
async function cliWithPragmas(cliPath: string, pragmas: string, dir: string): Promise<string> {
  const list = pragmas.split(',').filter(Boolean);
  if (list.length === 0) return cliPath;
  const wrapper = join(dir, 'temporal-with-pragmas');
  const flags = list.map((p) => `--sqlite-pragma '${p.replace(/'/g, '')}'`).join(' ');
  writeFileSync(wrapper, `#!/bin/sh\nexec '${cliPath}' "$@" ${flags}\n`, { mode: 0o755 });
  return wrapper;
}

/**
 * A running cluster (`npm run cluster:up`) as the bench's server: its address, and its Temporal server
 * and PostgreSQL (the postmaster and its backends, listed again at every reading) as the server's
 * processes. Stopping it is `npm run cluster:down`'s job, not the bench's.
 */
function withPids(server: DevServer) {
  return Object.assign(server, { pids: () => [server.pid] });
}

function clusterServer(dir: string) {
  const state = readClusterState(dir);
  if (!state) throw new Error(`no cluster in ${dir}: npm run cluster:up first`);
  if (state.namespace !== 'default' || state.tls)
    throw new Error('the bench runs against a cluster in namespace default without TLS');
  const pid = (name: string) => {
    const p = state.processes.find((r) => r.name === name);
    if (!p) throw new Error(`the cluster in ${dir} has no ${name} process`);
    return p.pid;
  };
  const temporal = pid('temporal');
  const postgres = pid('postgres');
  return {
    address: state.address,
    pid: temporal,
    pids: () => [temporal, postgres, ...childPids(postgres)],
    stop: async () => undefined,
  };
}

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
      switch (workload) {
        case 'W1':
          results.W1 = await bench.w1();
          break;
        case 'W2':
          results.W2 = await bench.w2();
          break;
        case 'W3':
          results.W3 = await bench.w3();
          break;
        case 'W4':
          results.W4 = await bench.w4();
          break;
        case 'W5':
          results.W5 = await bench.w5(model);
          break;
      }
      log(`${workload}: done in ${((Date.now() - t) / 1000).toFixed(1)} s`);
      await Promise.all(workers.map((w) => w.stop()));
      workers = [];
    }
    const historyProfile = await profile(client, results);
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
