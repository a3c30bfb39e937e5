/**
 * What every workload of `npm run bench` measures with: CPU per step read around a phase, task ids,
 * and sequential repetitions with the two sides interleaved.
 */
import type { Client } from '@temporalio/client';
import { type Kind, round, type Side } from './driver';
import { addUse, cpuBetween, snapshot, ZERO_USE, type CpuSnapshot, type CpuUse } from './procStats';
import type { Options } from './runOptions';

export interface CpuPerStep {
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

/** One workload's run: the server, the client and the two sides' fresh workers. */
export class Bench {
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
      out.set(name, { values: [], use: ZERO_USE, lastId: '' });
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
}
