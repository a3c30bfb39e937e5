import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { commandLine, isRunning } from '../watchdog';

/** A process the cluster started, as its state file records it. */
export interface ProcessRecord {
  /** What it is: `postgres`, `temporal`, `worker-1`, `node-a`… */
  name: string;
  pid: number;
  /** Its argv, to recognise it later (a pid alone may have been reused by something else). */
  argv: string[];
  /** A string its command line or environment holds (a path of this cluster's), to recognise it later. */
  marker: string;
  log: string;
}

export interface StartOptions {
  name: string;
  command: string;
  args: string[];
  log: string;
  marker: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Run as this user and group (PostgreSQL refuses to run as root). */
  uid?: number;
  gid?: number;
}

/**
 * Starts a process that outlives its starter: its own process group and session (a Ctrl-C in the
 * terminal of `cluster up` does not reach it), output appended to a log file, nothing held open.
 */
export function startDetached(options: StartOptions): ProcessRecord {
  const fd = openSync(options.log, 'a');
  try {
    const child = spawn(options.command, options.args, {
      stdio: ['ignore', fd, fd],
      detached: true,
      env: options.env ?? process.env,
      cwd: options.cwd,
      uid: options.uid,
      gid: options.gid,
    });
    if (child.pid === undefined) throw new Error(`cannot start ${options.command}`);
    child.unref();
    return {
      name: options.name,
      pid: child.pid,
      argv: [options.command, ...options.args],
      marker: options.marker,
      log: options.log,
    };
  } finally {
    closeSync(fd);
  }
}

/** True when `record.pid` still runs the recorded process (not a stranger that reuses the pid). */
export function stillOurs(record: ProcessRecord): boolean {
  const argv = commandLine(record.pid);
  if (!argv) return false;
  if (argv.join(' ').includes(record.marker)) return true;
  try {
    return readFileSync(`/proc/${record.pid}/environ`, 'utf8').includes(record.marker);
  } catch {
    return !existsSync('/proc'); // without /proc (macOS), a live pid with a command line is all we know
  }
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(-pid, name); // the group: a server's children go with it
  } catch {
    try {
      process.kill(pid, name);
    } catch {
      // already gone
    }
  }
}

/**
 * Stops a recorded process by its pid: `first` (SIGTERM), then SIGKILL to its group after `graceMs`.
 * Returns how it ended: `stopped`, `killed`, or `gone` (not running, or the pid is someone else's now).
 */
export async function stopRecorded(
  record: ProcessRecord,
  options: { first?: NodeJS.Signals; graceMs?: number } = {},
): Promise<'stopped' | 'killed' | 'gone'> {
  if (!isRunning(record.pid) || !stillOurs(record)) return 'gone';
  signal(record.pid, options.first ?? 'SIGTERM');
  const deadline = Date.now() + (options.graceMs ?? 10_000);
  while (isRunning(record.pid)) {
    if (Date.now() > deadline) {
      signal(record.pid, 'SIGKILL');
      while (isRunning(record.pid)) await new Promise((r) => setTimeout(r, 25));
      return 'killed';
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  return 'stopped';
}

/** Kills a recorded process at once (SIGKILL, as a crash or the OOM killer would). */
export async function killRecorded(record: ProcessRecord): Promise<void> {
  if (!isRunning(record.pid) || !stillOurs(record)) return;
  signal(record.pid, 'SIGKILL');
  while (isRunning(record.pid)) await new Promise((r) => setTimeout(r, 25));
}

/** The last `bytes` of a log, for error messages. */
export function tail(log: string, bytes = 3000): string {
  try {
    const text = readFileSync(log, 'utf8');
    return text.slice(-bytes);
  } catch {
    return '';
  }
}

export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  options: { timeoutMs: number; intervalMs?: number; alive?: () => boolean; log?: string },
): Promise<T> {
  const deadline = Date.now() + options.timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (err) {
      lastError = err;
    }
    if (options.alive && !options.alive()) {
      throw new Error(
        `${what}: the process exited${options.log ? `; its log ends:\n${tail(options.log)}` : ''}`,
      );
    }
    if (Date.now() > deadline) {
      throw new Error(
        `${what} within ${options.timeoutMs} ms: ${lastError ? String(lastError) : 'not ready'}${options.log ? `\n${tail(options.log)}` : ''}`,
      );
    }
    await new Promise((r) => setTimeout(r, options.intervalMs ?? 100));
  }
}
