/** The bench's Temporal server: a tuned dev server (optionally with SQLite pragmas) or a running cluster. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readClusterState } from '../src/runtime/cluster/state';
import type { DevServer } from '../src/runtime/devServer';
import { childPids } from './procStats';

/**
 * startDevServer takes no extra flags: pragmas go through a wrapper that execs the CLI with them
 * (exec keeps the pid, so /proc still reads the server).
 */
export async function cliWithPragmas(cliPath: string, pragmas: string, dir: string): Promise<string> {
  const list = pragmas.split(',').filter(Boolean);
  if (list.length === 0) return cliPath;
  const wrapper = join(dir, 'temporal-with-pragmas');
  const flags = list.map((p) => `--sqlite-pragma '${p.replace(/'/g, '')}'`).join(' ');
  writeFileSync(wrapper, `#!/bin/sh\nexec '${cliPath}' "$@" ${flags}\n`, { mode: 0o755 });
  return wrapper;
}

/** A dev server as the bench's server: its one process is the server's. */
export function withPids(server: DevServer) {
  return Object.assign(server, { pids: () => [server.pid] });
}

/**
 * A running cluster (`npm run cluster:up`) as the bench's server: its address, and its Temporal server
 * and PostgreSQL (the postmaster and its backends, listed again at every reading) as the server's
 * processes. Stopping it is `npm run cluster:down`'s job, not the bench's.
 */
export function clusterServer(dir: string) {
  const state = readClusterState(dir);
  if (!state) throw new Error(`no cluster in ${dir}: npm run cluster:up first`);
  if (state.namespace !== 'default' || state.tls)
    throw new Error('the bench runs against a cluster in namespace default without TLS');
  const pid = (name: string) => {
    const p = state.processes.find((r) => r.name === name);
    if (!p) throw new Error(`the cluster in ${dir} has no ${name} process`);
    return p.pid;
  };
  const temporal = pid('temporal');
  const postgres = pid('postgres');
  return {
    address: state.address,
    pid: temporal,
    pids: () => [temporal, postgres, ...childPids(postgres)],
    stop: async () => undefined,
  };
}
