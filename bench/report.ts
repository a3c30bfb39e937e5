import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** The commit a bench ran, and whether src/ had uncommitted changes then. */
export function gitHead(): { commit: string; dirty: boolean } {
  try {
    const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: __dirname })
      .toString()
      .trim();
    const dirty =
      execFileSync('git', ['status', '--porcelain', '--', ':/src'], { cwd: __dirname }).toString() !== '';
    return { commit, dirty };
  } catch {
    return { commit: 'unknown', dirty: true };
  }
}

/**
 * Writes a bench's report under bench/results/: `<prefix><start time>.json`, and `<prefix>latest.json`
 * (the one kept in git). Returns the first file's path.
 */
export function writeReport(prefix: string, started: Date, report: unknown): string {
  const resultsDir = join(__dirname, 'results');
  mkdirSync(resultsDir, { recursive: true });
  const file = join(resultsDir, `${prefix}${started.toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, JSON.stringify(report, null, 2));
  writeFileSync(join(resultsDir, `${prefix}latest.json`), JSON.stringify(report, null, 2));
  return file;
}
