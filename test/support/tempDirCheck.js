/**
 * Tests remove what they create. This reporter gives the run a temporary directory of its own (TMPDIR,
 * which os.tmpdir() reads, set before the test workers start, so they and the processes they spawn
 * make their temporary files in it), and at the end fails the run if anything is left in it, naming
 * what: each test file makes its directories with a prefix of its own, so the names say who leaked.
 * A directory of its own, rather than a before/after listing of the system's, so other runs on the
 * same machine cannot make this one fail. Plain JavaScript: jest loads reporters without transforming.
 */
const { chmodSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync } = require('node:fs');
const { tmpdir, userInfo } = require('node:os');
const { join } = require('node:path');

const PREFIX = 'steward-tests-';
/**
 * Tools' caches in tmpdir(): tsx's (it runs TypeScript in the tests' child processes) in tsx-<uid>,
 * and Node 24's module compile cache (node-compile-cache, made by a tool that enables it).
 */
const TOOL_CACHES = [
  `tsx-${process.geteuid ? process.geteuid() : userInfo().username}`,
  'node-compile-cache',
];
/** What other programs leave and the tests cannot remove: Chromium's PulseAudio client directory. */
const NOT_OURS = [/^pulse-/];

class TempDirCheck {
  constructor() {
    this.systemTmp = tmpdir();
    removeAbandonedRoots(this.systemTmp);
    this.root = mkdtempSync(join(this.systemTmp, `${PREFIX}${process.pid}-`));
    // passable like the system's temp directory: the cluster's PostgreSQL runs as its own user and
    // must reach its data directory below this one (each test's own directory keeps its mode)
    chmodSync(this.root, 0o711);
    // tools' own caches are not the tests' leftovers: they stay where the tools keep them
    for (const name of TOOL_CACHES) {
      mkdirSync(join(this.systemTmp, name), { recursive: true, mode: 0o700 });
      symlinkSync(join(this.systemTmp, name), join(this.root, name));
    }
    process.env.TMPDIR = this.root;
    this.error = undefined;
  }

  onRunComplete(_contexts, results) {
    let left = [];
    try {
      left = readdirSync(this.root)
        .filter((name) => !TOOL_CACHES.includes(name) && !NOT_OURS.some((re) => re.test(name)))
        .sort();
    } catch {
      // removed by someone else: nothing to report
    }
    rmSync(this.root, { recursive: true, force: true });
    process.env.TMPDIR = this.systemTmp;
    if (left.length === 0) return;
    const shown = left.slice(0, 50).map((name) => `  ${name}`);
    if (left.length > shown.length) shown.push(`  … and ${left.length - shown.length} more`);
    this.error = new Error(
      `tests left ${left.length} temporary entr${left.length === 1 ? 'y' : 'ies'} behind in the temp directory ` +
        `(remove them in afterAll/afterEach):\n${shown.join('\n')}`,
    );
    process.stderr.write(`\n${this.error.message}\n`);
    // counted as a run error, so the run fails and CI's "N passed, N failed" line shows it
    results.success = false;
    results.numRuntimeErrorTestSuites += 1;
  }

  getLastError() {
    return this.error;
  }
}

/** The directories of runs whose process is gone (killed before it could clean up). */
function removeAbandonedRoots(systemTmp) {
  for (const name of readdirSync(systemTmp)) {
    const pid = Number(/^steward-tests-(\d+)-/.exec(name)?.[1]);
    if (!pid || isAlive(pid)) continue;
    rmSync(join(systemTmp, name), { recursive: true, force: true });
  }
}

function isAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return err.code === 'EPERM';
  }
}

module.exports = TempDirCheck;
