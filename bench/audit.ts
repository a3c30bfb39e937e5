/**
 * `npm run bench:audit [-- verify | steps] [--key=value …]`: what the audit trail costs (issue 12,
 * "Measure"). See bench/README.md, section "Audit".
 *
 * verify (bench/audit/verify.ts): realistic schema-1 chains of 10,000 and 100,000 entries (the kinds
 *   and fields the workflow writes; bench/audit/chain.ts), written as JSON Lines with a signed head
 *   last, as `steward audit export` writes them; then reading + parsing, `verifyAudit` (with
 *   @noble/hashes, as in workflow code, and with node:crypto's sha256), and one head signature check,
 *   on one core (this process's CPU time from /proc).
 * steps (bench/audit/steps.ts): one tuned dev server, two Steward worker processes that differ only in
 *   `stores.audit`: one exports to files (`local`), one does not (`none`, tasks resolved with
 *   `auditExport: false`). The same tasks run on both, interleaved, one at a time: 10 read steps then
 *   finish, and one write that waits for an approval. Latency per task, added ms per step, worker and
 *   server CPU per step.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from './audit/options';
import { stepsPart, stepsTable } from './audit/steps';
import { verifyPart, verifyTable } from './audit/verify';
import { round } from './driver';
import { loadAverage } from './procStats';
import { gitHead, writeReport } from './report';
import type { Loose } from './table';

/** A table for each part that ran. */
function tables(results: Record<string, Loose>): string {
  return [
    ...(results.verify ? verifyTable(results.verify) : []),
    ...(results.steps ? stepsTable(results.steps) : []),
  ].join('\n');
}

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  const started = new Date();
  const loadAtStart = loadAverage();
  const log = (s: string) => console.log(`[${((Date.now() - started.getTime()) / 1000).toFixed(1)} s] ${s}`);
  log(
    `bench:audit ${options.parts.join(' ')} on ${availableParallelism()} cores, load ${loadAtStart.join(' ')}`,
  );
  const dir = mkdtempSync(join(tmpdir(), 'steward-bench-audit-'));
  const results: Record<string, unknown> = {};
  try {
    if (options.parts.includes('verify')) {
      log('verify: building chains');
      results.verify = await verifyPart(options, dir);
      log('verify: done');
    }
    if (options.parts.includes('steps')) results.steps = await stepsPart(options, dir, log);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const loadAtEnd = loadAverage();
  const summary = tables(results);
  const report = {
    startedAt: started.toISOString(),
    durationS: round((Date.now() - started.getTime()) / 1000),
    command: [
      'npm run bench:audit',
      ...(process.argv.length > 2 ? ['--', ...process.argv.slice(2)] : []),
    ].join(' '),
    ...gitHead(),
    node: process.version,
    machine: { cores: availableParallelism(), loadAtStart, loadAtEnd },
    options,
    results,
    table: summary,
  };
  const file = writeReport('audit-', started, report);
  console.log(`\n${summary}\n`);
  console.log(`load average ${loadAtStart.join(' ')} → ${loadAtEnd.join(' ')}; results in ${file}`);
}

if (require.main === module) {
  main().then(
    () => process.exit(0),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
