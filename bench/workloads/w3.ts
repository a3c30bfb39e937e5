/**
 * W3: agent `bench-approval` parks on an approval of its one write; from just before the signed
 * `approve` update is sent to the moment the tool's handler starts in the worker. Bare:
 * `bareApproval`, update sent → its activity starts.
 */
import { type Kind, mapValues, round, type Side, spread, waitParked } from '../driver';
import type { Bench } from '../measure';
import { cpuCells, signed } from '../table';

export async function w3(bench: Bench) {
  const reps = bench.options.w3Reps;
  const rep = (side: Side) => async (id: string) => {
    await side.startParked(id);
    await waitParked(bench.client, id);
    const started = side.worker.startOf(id);
    const sent = Date.now();
    await side.approve(id);
    const at = await started;
    await side.result(id);
    return at - sent;
  };
  const r = await bench.interleaved(
    'W3',
    reps,
    1,
    (['bare', 'steward'] as const).map((name) => ({
      name,
      side: bench.sides[name],
      rep: rep(bench.sides[name]),
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

export type W3Result = Awaited<ReturnType<typeof w3>>;

export function w3Rows(w3: W3Result): string[][] {
  return [
    [
      'W3 approval → tool starts, p50 / p99',
      `${w3.steward.latencyMs.p50} / ${w3.steward.latencyMs.p99} ms`,
      `${w3.bare.latencyMs.p50} / ${w3.bare.latencyMs.p99} ms`,
      `${signed(w3.p50OverBareMs)} / ${signed(w3.p99OverBareMs)} ms`,
      '≤ bare + 5 ms',
      ...cpuCells(w3.steward.cpu, w3.bare.cpu),
    ],
  ];
}
