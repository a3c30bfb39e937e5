/**
 * W5: 100 tasks of agent `bench-model` (the model chooses), 50 in flight, against a local model
 * server that answers each call after 300 ms: wall time against the ideal. Bare: `bareModel`, five
 * activities that POST to the same server.
 */
import { MODEL_CALLS_PER_TASK } from '../agents';
import { type Kind, mapValues, pool, round, spread } from '../driver';
import type { Bench, CpuPerStep } from '../measure';
import type { BenchModelServer } from '../modelServer';
import { cpuCells } from '../table';

export async function w5(bench: Bench, model: BenchModelServer) {
  const { w5Tasks: tasks, w5InFlight: inFlight, w5DelayMs } = bench.options;
  const idealS = (Math.ceil(tasks / inFlight) * MODEL_CALLS_PER_TASK * w5DelayMs) / 1000;
  const out = {} as Record<
    Kind,
    Record<string, unknown> & { wallS: number; overIdealPct: number; cpu: CpuPerStep }
  >;
  for (const kind of ['bare', 'steward'] as const) {
    const side = bench.sides[kind];
    await pool(5, 5, (i) => side.runModel(bench.id('W5', kind, `warm${i}`)));
    model.resetCounters();
    const latencies: number[] = [];
    const { cpu } = await bench.measure(side, tasks * MODEL_CALLS_PER_TASK, () =>
      pool(tasks, inFlight, async (i) => {
        const t = performance.now();
        await side.runModel(bench.id('W5', kind, i));
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
      historyOf: bench.id('W5', kind, tasks - 1),
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

export type W5Result = Awaited<ReturnType<typeof w5>>;

export function w5Rows(w5: W5Result): string[][] {
  return [
    [
      `W5 ${w5.tasks} tasks × 5 model calls, ${w5.inFlight} in flight, wall (over ${w5.idealS} s ideal)`,
      `${w5.steward.wallS} s (+${w5.steward.overIdealPct} %)`,
      `${w5.bare.wallS} s (+${w5.bare.overIdealPct} %)`,
      `${w5.ratio}×`,
      '≤ +10 %',
      ...cpuCells(w5.steward.cpu, w5.bare.cpu),
    ],
  ];
}
