/** W2: 200 tasks of `bench-steps` against 200 `bareSteps`, 20 in flight, one worker: tasks/s. */
import { STEPS_PER_TASK } from '../agents';
import { type Kind, mapValues, pool, round, spread } from '../driver';
import type { Bench, CpuPerStep } from '../measure';
import { bareOnlyCells, cpuCells } from '../table';

export async function w2(bench: Bench) {
  const { w2Tasks: tasks, w2InFlight: inFlight } = bench.options;
  const { bare, steward } = bench.sides;
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
    await pool(inFlight, inFlight, (i) => run(bench.id('W2', name as Kind, `warm${i}`)));
    const latencies: number[] = [];
    const { cpu } = await bench.measure(side, tasks * STEPS_PER_TASK, () =>
      pool(tasks, inFlight, async (i) => {
        const t = performance.now();
        await run(bench.id('W2', name as Kind, i));
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

export type W2Result = Awaited<ReturnType<typeof w2>>;

export function w2Rows(w2: W2Result): string[][] {
  const rows = [
    [
      `W2 ${w2.tasks} tasks, ${w2.inFlight} in flight, tasks/s`,
      `${w2.steward.tasksPerSecond}`,
      `${w2.bare.tasksPerSecond}`,
      `${w2.ratio}×`,
      '≥ 2×',
      ...cpuCells(w2.steward.cpu, w2.bare.cpu),
    ],
  ];
  if (w2.bareLocal)
    rows.push([
      '(reference) W2 as 10 local activities, bare',
      '',
      `${w2.bareLocal.tasksPerSecond}`,
      `${w2.bareLocalRatio}× bare`,
      '',
      ...bareOnlyCells(w2.bareLocal.cpu),
    ]);
  return rows;
}
