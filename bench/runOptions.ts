/** `npm run bench`'s options: the workloads to run and `--key=value` settings (bench/README.md). */

export const WORKLOADS = ['W1', 'W2', 'W3', 'W4', 'W5'] as const;
export type Workload = (typeof WORKLOADS)[number];

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
export type Options = typeof DEFAULTS & typeof STRING_DEFAULTS & { workloads: Workload[] };

export function parseArgs(argv: string[]): Options {
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
