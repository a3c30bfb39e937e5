/**
 * The production-shaped topology as processes, for tests and for people without Docker:
 *
 *   npm run cluster:up [-- --dir DIR --workers N --config steward.yaml --blobs postgres|local --tls]
 *   npm run cluster:status [-- --dir DIR]
 *   npm run cluster:down [-- --dir DIR --purge]
 *
 * `up` builds the Temporal server once (go install …@v1.29.1 into ~/.cache/steward), starts its own
 * PostgreSQL, the server, Steward workers and compute nodes, and records every pid in DIR/cluster.json;
 * `down` stops them by those pids. DIR defaults to .steward/cluster.
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  clusterDown,
  clusterStatus,
  clusterUp,
  connectionEnv,
  type ClusterNode,
} from '../src/runtime/cluster';
import { makeClusterCertificates } from '../src/runtime/cluster/tls';

async function main(): Promise<number> {
  const { positionals, values } = parseArgs({
    args: process.argv.slice(2),
    allowPositionals: true,
    options: {
      dir: { type: 'string', default: join('.steward', 'cluster') },
      workers: { type: 'string', default: '2' },
      nodes: { type: 'string' },
      config: { type: 'string' },
      blobs: { type: 'string' },
      tls: { type: 'boolean' },
      purge: { type: 'boolean' },
    },
  });
  const dir = values.dir!;
  switch (positionals[0]) {
    case 'up': {
      const nodes: ClusterNode[] | undefined = values.nodes?.split(',').map((entry) => {
        const [id, trust = 'local'] = entry.split(':');
        return { id: id!, trust: trust as ClusterNode['trust'] };
      });
      if (values.blobs && values.blobs !== 'postgres' && values.blobs !== 'local')
        throw new Error('--blobs is postgres or local');
      const state = await clusterUp({
        dir,
        workers: Number(values.workers),
        nodes,
        config: values.config,
        blobs: values.blobs as 'postgres' | 'local' | undefined,
        tls: values.tls ? makeClusterCertificates(join(dir, 'tls')) : undefined,
      });
      console.log(`cluster up in ${state.timings.total} s (${JSON.stringify(state.timings)})`);
      console.log(
        `Temporal: ${state.address}, namespace ${state.namespace}; PostgreSQL on 127.0.0.1:${state.postgres.port}`,
      );
      for (const p of state.processes) console.log(`  ${p.name.padEnd(10)} pid ${p.pid}  log ${p.log}`);
      console.log('Connect a steward command to it with:');
      for (const [k, v] of Object.entries(connectionEnv(state))) console.log(`  export ${k}=${v}`);
      console.log(`  export STEWARD_CONFIG=${state.stewardConfig}`);
      return 0;
    }
    case 'down': {
      const outcomes = await clusterDown(dir, { purge: values.purge });
      for (const o of outcomes) console.log(`  ${o.name.padEnd(10)} pid ${o.pid}: ${o.outcome}`);
      console.log(outcomes.length ? 'cluster down' : 'nothing was running');
      return 0;
    }
    case 'status': {
      const { state, processes } = clusterStatus(dir);
      if (!state) {
        console.log(`no cluster in ${dir}`);
        return 1;
      }
      console.log(`Temporal: ${state.address}, namespace ${state.namespace}`);
      for (const p of processes)
        console.log(`  ${p.name.padEnd(10)} pid ${p.pid}  ${p.running ? 'running' : 'stopped'}`);
      return processes.length > 0 && processes.every((p) => p.running) ? 0 : 1;
    }
    default:
      console.error('usage: cluster.ts up|down|status [--dir DIR] (see the top of scripts/cluster.ts)');
      return 2;
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`cluster: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
