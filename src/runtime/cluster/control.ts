/** Stopping a cluster, its status, and the controls tests and operators use on a running one. */
import { rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { isRunning } from '../watchdog';
import { ensureServerBinaries } from './binaries';
import { killRecorded, stillOurs, stopRecorded, tail, type ProcessRecord } from './processes';
import { startServer } from './temporalServer';

import {
  findRecord,
  logFile,
  readClusterState,
  setRecord,
  watched,
  writeState,
  type ClusterState,
} from './state';
import { prepareNamespace, startStewardProcess } from './start';

/** The order processes stop in: Steward first (its tasks can still reach the server), PostgreSQL last. */
export function stopOrder(p: ProcessRecord): number {
  return p.name === 'postgres' ? 2 : p.name === 'temporal' ? 1 : 0;
}

/** How a process is asked to stop: PostgreSQL's fast shutdown is SIGINT (SIGTERM waits for clients). */
export function stopSignal(p: ProcessRecord): NodeJS.Signals {
  return p.name === 'postgres' ? 'SIGINT' : 'SIGTERM';
}

/**
 * Stops every process of the cluster by its recorded pid: SIGTERM (PostgreSQL: SIGINT), SIGKILL
 * after `graceMs`. Data stays in `dir` for the next `up` unless `purge`.
 */
export async function clusterDown(
  dir: string,
  options: { graceMs?: number; purge?: boolean } = {},
): Promise<Array<{ name: string; pid: number; outcome: string }>> {
  const state = readClusterState(dir);
  const outcomes: Array<{ name: string; pid: number; outcome: string }> = [];
  if (state) {
    for (const rank of [0, 1, 2]) {
      const group = state.processes.filter((p) => stopOrder(p) === rank);
      await Promise.all(
        group.map(async (p) => {
          const outcome = await stopRecorded(p, { first: stopSignal(p), graceMs: options.graceMs ?? 10_000 });
          outcomes.push({ name: p.name, pid: p.pid, outcome });
        }),
      );
    }
    state.processes = [];
    writeState(state);
  }
  if (options.purge) rmSync(resolve(dir), { recursive: true, force: true });
  return outcomes;
}

export interface ProcessStatus {
  name: string;
  pid: number;
  running: boolean;
  log: string;
}

export function clusterStatus(dir: string): { state?: ClusterState; processes: ProcessStatus[] } {
  const state = readClusterState(dir);
  return {
    state,
    processes: (state?.processes ?? []).map((p) => ({
      name: p.name,
      pid: p.pid,
      running: isRunning(p.pid) && stillOurs(p),
      log: p.log,
    })),
  };
}

/** Test and operator controls on a running cluster, each recorded in its state file. */
export class ClusterControl {
  constructor(readonly dir: string) {}

  get state(): ClusterState {
    const state = readClusterState(this.dir);
    if (!state) throw new Error(`no cluster in ${this.dir}`);
    return state;
  }

  pid(name: string): number {
    const record = findRecord(this.state, name);
    if (!record) throw new Error(`no process ${name} in the cluster`);
    return record.pid;
  }

  /** The process names of Steward workers (not nodes), as started. */
  get workers(): string[] {
    return this.state.specs.filter((s) => s.args[0] === 'worker').map((s) => s.name);
  }

  get nodes(): string[] {
    return this.state.specs.filter((s) => s.args[0] === 'node').map((s) => s.name);
  }

  /** SIGTERM, then SIGKILL after `graceMs`. */
  async stop(name: string, graceMs = 10_000): Promise<string> {
    const record = findRecord(this.state, name);
    if (!record) throw new Error(`no process ${name} in the cluster`);
    return stopRecorded(record, { first: stopSignal(record), graceMs });
  }

  /** SIGKILL, as a crash would. */
  async kill(name: string): Promise<void> {
    const record = findRecord(this.state, name);
    if (!record) throw new Error(`no process ${name} in the cluster`);
    await killRecorded(record);
  }

  running(name: string): boolean {
    const record = findRecord(this.state, name);
    return Boolean(record && isRunning(record.pid) && stillOurs(record));
  }

  /** Starts a stopped Steward process again (same name, data directory and config). */
  async start(name: string): Promise<number> {
    if (this.running(name)) throw new Error(`${name} is running`);
    const state = this.state;
    const spec = state.specs.find((s) => s.name === name);
    if (!spec) throw new Error(`no Steward process ${name} in the cluster`);
    const record = await startStewardProcess(state, spec);
    const now = this.state; // re-read: the state may have changed while it started
    setRecord(now, record);
    writeState(now);
    return record.pid;
  }

  /** Starts the Temporal server again on its ports and waits until it serves the namespace. */
  async startServer(): Promise<number> {
    if (this.running('temporal')) throw new Error('the Temporal server is running');
    const state = this.state;
    const binaries = await ensureServerBinaries();
    const server = watched(
      state,
      startServer(binaries, state.dir, state.configDir, logFile(state, 'temporal')),
    );
    setRecord(state, server);
    writeState(state);
    await prepareNamespace(state, server);
    return server.pid;
  }

  /** The last lines of a process's log. */
  log(name: string, bytes = 3000): string {
    const record = findRecord(this.state, name);
    return record ? tail(record.log, bytes) : '';
  }
}
