/** The cells every row of `npm run bench`'s table shares, and the markdown tables both benches print. */
import type { CpuPerStep } from './measure';

/** A result as the table reads it (the table is printed from the same values the JSON report holds). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Loose = any;

/** Server, worker and client CPU per step, and other load, Steward / bare. */
export function cpuCells(s?: CpuPerStep, b?: CpuPerStep): string[] {
  return [
    s && b ? `${s.serverMsPerStep} / ${b.serverMsPerStep}` : '',
    s && b ? `${s.workerMsPerStep} / ${b.workerMsPerStep}` : '',
    s && b ? `${s.clientMsPerStep} / ${b.clientMsPerStep}` : '',
    s && b ? `${s.otherCores} / ${b.otherCores}` : '',
  ];
}

/** The CPU cells of a reference row, which has a bare side only. */
export function bareOnlyCells(b: CpuPerStep): string[] {
  return [
    `– / ${b.serverMsPerStep}`,
    `– / ${b.workerMsPerStep}`,
    `– / ${b.clientMsPerStep}`,
    `– / ${b.otherCores}`,
  ];
}

export const signed = (n: number) => `${n >= 0 ? '+' : '−'}${Math.abs(n)}`;

export const RUN_TABLE_HEADER = [
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

/** A markdown table's lines: the header, its rule, the rows. */
export function markdownLines(header: string[], rows: string[][]): string[] {
  return [header, header.map(() => '---'), ...rows].map((r) => `| ${r.join(' | ')} |`);
}
