/**
 * W4: 1,000 `bench-approval` tasks started and parked (the worker's RSS), their approvals drained
 * 20 at a time, then `--w4More` more parked for a second RSS reading. Bare: `bareApproval`, the same.
 */
import { type Kind, mapValues, pool, round, type Side, spread, waitParked } from '../driver';
import type { Bench } from '../measure';
import { cpuCells, type Loose } from '../table';

/** Starts `count` tasks (50 start calls in flight) and waits until each is parked. */
async function park(bench: Bench, side: Side, from: number, count: number) {
  const ids = Array.from({ length: count }, (_, i) => bench.id('W4', side.kind, from + i));
  const { cpu } = await bench.measure(side, count, async () => {
    await pool(count, bench.options.w4StartInFlight, (i) => side.startParked(ids[i]!));
    await pool(count, 10, (i) => waitParked(bench.client, ids[i]!));
  });
  return { ids, cpu, tasksPerSecond: round(count / (cpu.wallMs / 1000), 1) };
}

export async function w4(bench: Bench) {
  const { w4Parked, w4More, w4Drain, w4DrainInFlight } = bench.options;
  const out = {} as Record<Kind, Record<string, unknown>>;
  for (const kind of ['bare', 'steward'] as const) {
    const side = bench.sides[kind];
    const idle = await side.worker.memory();
    const parked = await park(bench, side, 0, w4Parked);
    const atParked = await side.worker.memory();
    const drainIds = parked.ids.slice(0, w4Drain);
    const latencies: number[] = [];
    const drain = await bench.measure(side, drainIds.length, () =>
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
      const extra = await park(bench, side, w4Parked, w4More);
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

export function w4Rows(w4: Loose): string[][] {
  const s = w4.steward;
  const b = w4.bare;
  const rows = [
    [
      `W4 worker RSS, ${s.parked.count} parked (cache ${s.maxCachedWorkflows} / ${b.maxCachedWorkflows})`,
      `${s.parked.memory.rssMb} MB (idle ${s.idle.rssMb})`,
      `${b.parked.memory.rssMb} MB (idle ${b.idle.rssMb})`,
      `${w4.rssRatio}×`,
      '≤ 200 MB at 10,000',
      ...cpuCells(s.parked.park, b.parked.park),
    ],
  ];
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
  return rows;
}
