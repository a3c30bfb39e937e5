import { clusterDown } from '../../../src/runtime/cluster';

/** Stops every process of the cluster by its pid; keeps its directory (logs) with STEWARD_KEEP_CLUSTER=1. */
export default async function clusterTeardown(): Promise<void> {
  const dir = process.env.STEWARD_CLUSTER_DIR;
  if (!dir) return;
  const keep = Boolean(process.env.STEWARD_KEEP_CLUSTER);
  await clusterDown(dir, { purge: !keep });
  if (keep) process.stderr.write(`cluster directory kept: ${dir}\n`);
}
