import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

/** Clock ticks per second of /proc's utime and stime (100 on Linux almost everywhere). */
const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
  } catch {
    return 100;
  }
})();

/** CPU time (user + system, all threads) a process has used so far, in ms, from /proc/<pid>/stat. */
export function cpuMs(pid: number | 'self'): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // the command name (field 2) may hold spaces and parentheses: fields start after the last ')'
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]); // field 14
  const stime = Number(fields[12]); // field 15
  return ((utime + stime) * 1000) / CLK_TCK;
}

/** Resident set size in MB, from /proc/<pid>/status (VmRSS; `peak` gives VmHWM). */
export function rssMb(pid: number, peak = false): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = status.match(peak ? /^VmHWM:\s+(\d+) kB/m : /^VmRSS:\s+(\d+) kB/m);
  return match ? Number(match[1]) / 1024 : NaN;
}

export function loadAverage(): number[] {
  return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).map(Number);
}

export interface CpuSnapshot {
  at: number;
  server: number;
  worker: number;
  client: number;
  /** Every CPU second spent on the machine (all processes, from /proc/stat), in ms. */
  machineBusy: number;
}

function machineBusyMs(): number {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
  const [, ...values] = line.trim().split(/\s+/);
  const n = values.map(Number);
  // user nice system idle iowait irq softirq steal: busy = all but idle and iowait
  const busy = n[0]! + n[1]! + n[2]! + n[5]! + n[6]! + n[7]!;
  return (busy * 1000) / CLK_TCK;
}

/** CPU ms of every pid that still exists (a PostgreSQL backend may have exited since it was listed). */
function sumCpuMs(pids: number[]): number {
  let ms = 0;
  for (const pid of pids) {
    try {
      ms += cpuMs(pid);
    } catch {
      // gone
    }
  }
  return ms;
}

/** The pids whose parent is `pid` (PostgreSQL's backends under its postmaster). */
export function childPids(pid: number): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) out.push(Number(entry));
    } catch {
      // gone
    }
  }
  return out;
}

/** Server: the dev server, or a cluster's Temporal server and PostgreSQL; worker: one or more processes. */
export function snapshot(serverPids: number | number[], workerPids: number | number[]): CpuSnapshot {
  return {
    at: performance.now(),
    server: sumCpuMs([serverPids].flat()),
    worker: sumCpuMs([workerPids].flat()),
    client: cpuMs('self'),
    machineBusy: machineBusyMs(),
  };
}

export interface CpuUse {
  wallMs: number;
  /** CPU ms of each process over the phase. */
  serverMs: number;
  workerMs: number;
  clientMs: number;
  /** CPU ms of every other process on the machine over the phase (other engineers' tests). */
  otherMs: number;
}

export function cpuBetween(a: CpuSnapshot, b: CpuSnapshot): CpuUse {
  const serverMs = b.server - a.server;
  const workerMs = b.worker - a.worker;
  const clientMs = b.client - a.client;
  return {
    wallMs: b.at - a.at,
    serverMs,
    workerMs,
    clientMs,
    otherMs: Math.max(b.machineBusy - a.machineBusy - serverMs - workerMs - clientMs, 0),
  };
}

/** No use yet: what sums of phases start from. */
export const ZERO_USE: CpuUse = { wallMs: 0, serverMs: 0, workerMs: 0, clientMs: 0, otherMs: 0 };

/** Two phases' use as one (repetitions of a series, summed per side). */
export function addUse(a: CpuUse, b: CpuUse): CpuUse {
  return {
    wallMs: a.wallMs + b.wallMs,
    serverMs: a.serverMs + b.serverMs,
    workerMs: a.workerMs + b.workerMs,
    clientMs: a.clientMs + b.clientMs,
    otherMs: a.otherMs + b.otherMs,
  };
}
