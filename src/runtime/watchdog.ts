import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** How long a process group gets between SIGTERM and SIGKILL. */
export const STOP_GRACE_MS = 5000;

/**
 * Runs as `node -e WATCHDOG <pgid>` with its stdin a pipe from the owner. The kernel closes that pipe
 * when the owner dies, however it dies (SIGKILL included), and the watchdog then stops the process
 * group. Node cannot reach prctl(PR_SET_PDEATHSIG); a pipe works on every Unix.
 */
const WATCHDOG = `
const pgid = Number(process.argv[1]);
const gone = () => {
  try { process.kill(-pgid, 0); } catch { return true; }
  try { return /^\\d+ \\(.*\\) Z/.test(require('fs').readFileSync('/proc/' + pgid + '/stat', 'utf8')); } catch { return false; }
};
let stopping = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  try { process.kill(-pgid, 'SIGTERM'); } catch { process.exit(0); }
  const deadline = Date.now() + ${STOP_GRACE_MS};
  setInterval(() => {
    if (gone()) process.exit(0);
    if (Date.now() > deadline) { try { process.kill(-pgid, 'SIGKILL'); } catch {} process.exit(0); }
  }, 50);
};
process.stdin.on('data', () => {}).on('end', stop).on('close', stop).on('error', stop);
// Nothing left to guard once the group has gone by itself.
setInterval(() => { if (!stopping && gone()) process.exit(0); }, 1000);
`;

/**
 * Starts a watchdog that stops process group `pgid` when this process dies. It sits in its own
 * session, so neither a Ctrl-C in the terminal nor a hangup takes it down with its owner.
 * `release()` ends it (after the group has been stopped normally).
 */
export function watchProcessGroup(pgid: number): { pid: number; release(): void } {
  const { NODE_OPTIONS: _ignored, ...env } = process.env; // a loader such as tsx is not needed here
  const child: ChildProcess = spawn(process.execPath, ['-e', WATCHDOG, String(pgid)], {
    stdio: ['pipe', 'ignore', 'ignore'],
    detached: true,
    env,
  });
  // The watchdog must never keep its owner alive.
  child.unref();
  (child.stdin as unknown as { unref(): void }).unref();
  child.stdin!.on('error', () => undefined); // a watchdog that has already exited is fine
  return { pid: child.pid!, release: () => child.stdin!.end() };
}

/** True while `pid` exists and is not a zombie waiting for a parent that does not reap. */
export function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return true; // no /proc: kill(0) is all we know
  }
}

/** The command line of `pid` (argv), or undefined when it is not running or cannot be read. */
export function commandLine(pid: number): string[] | undefined {
  if (!isRunning(pid)) return undefined;
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  } catch {
    // no /proc (macOS): ps prints the arguments joined by spaces, which is enough to recognise it
    try {
      return execFileSync('ps', ['-o', 'args=', '-p', String(pid)], { encoding: 'utf8' })
        .trim()
        .split(/\s+/);
    } catch {
      return undefined;
    }
  }
}

/** SIGTERM to the group led by `pid` (or to `pid` alone if it leads none), SIGKILL after the grace. */
export async function stopProcessGroup(pid: number, graceMs = STOP_GRACE_MS): Promise<void> {
  const signal = (name: NodeJS.Signals): void => {
    try {
      process.kill(-pid, name);
    } catch {
      try {
        process.kill(pid, name);
      } catch {
        // already gone
      }
    }
  };
  signal('SIGTERM');
  const deadline = Date.now() + graceMs;
  let killed = false;
  while (isRunning(pid)) {
    if (!killed && Date.now() > deadline) {
      signal('SIGKILL'); // cannot be refused: the loop waits for it to land
      killed = true;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}
