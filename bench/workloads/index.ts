/** The workloads of `npm run bench`, each measured and printed by its own module, in table order. */
import type { Bench } from '../measure';
import type { BenchModelServer } from '../modelServer';
import type { Workload } from '../runOptions';
import { markdownLines, RUN_TABLE_HEADER, type Loose } from '../table';
import { w1, w1Rows } from './w1';
import { w2, w2Rows } from './w2';
import { w3, w3Rows } from './w3';
import { w4, w4Rows } from './w4';
import { w5, w5Rows } from './w5';

interface WorkloadModule {
  run(bench: Bench, model: BenchModelServer): Promise<unknown>;
  /** Its rows of the table, from its result. */
  rows(result: Loose): string[][];
}

export const workloads: Record<Workload, WorkloadModule> = {
  W1: { run: w1, rows: w1Rows },
  W2: { run: w2, rows: w2Rows },
  W3: { run: w3, rows: w3Rows },
  W4: { run: w4, rows: w4Rows },
  W5: { run: (bench, model) => w5(bench, model), rows: w5Rows },
};

/** The table printed at the end and kept in the report: a row or two for each workload that ran. */
export function table(results: Record<string, unknown>): string {
  const rows = Object.entries(workloads).flatMap(([name, workload]) =>
    results[name] ? workload.rows(results[name]) : [],
  );
  return markdownLines(RUN_TABLE_HEADER, rows).join('\n');
}
