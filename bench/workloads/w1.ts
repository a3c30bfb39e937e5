/**
 * W1: one task of agent `bench-steps` (10 `tool` steps of the no-op read tool, then finish) against
 * `bareSteps`, 10 sequential no-op activities; p50 of start → result, one task at a time.
 */
import { STEPS_PER_TASK } from '../agents';
import { mapValues, round, spread } from '../driver';
import type { Bench } from '../measure';
import { bareOnlyCells, cpuCells } from '../table';

export async function w1(bench: Bench) {
  const reps = bench.options.w1Reps;
  const timed = (run: (id: string) => Promise<void>) => async (id: string) => {
    const t = performance.now();
    await run(id);
    return performance.now() - t;
  };
  const { bare, steward } = bench.sides;
  const r = await bench.interleaved('W1', reps, STEPS_PER_TASK, [
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

export type W1Result = Awaited<ReturnType<typeof w1>>;

export function w1Rows(w1: W1Result): string[][] {
  const rows = [
    [
      'W1 10 no-op steps, p50 latency',
      `${w1.steward.latencyMs.p50} ms`,
      `${w1.bare.latencyMs.p50} ms`,
      `${w1.ratio}×`,
      '≤ 0.5×',
      ...cpuCells(w1.steward.cpu, w1.bare.cpu),
    ],
  ];
  if (w1.bareLocal)
    rows.push([
      '(reference) W1 as 10 local activities, bare',
      '',
      `${w1.bareLocal.latencyMs.p50} ms`,
      `${w1.bareLocalRatio}× bare`,
      '',
      ...bareOnlyCells(w1.bareLocal.cpu),
    ]);
  return rows;
}
