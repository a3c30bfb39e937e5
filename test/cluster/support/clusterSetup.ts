import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { clusterUp } from '../../../src/runtime/cluster';
import { CLUSTER_TEST_CONFIG, HOOKS } from './clusterConfig';

const REPO = resolve(__dirname, '..', '..', '..');

/**
 * The cluster project's setup: the topology as processes (PostgreSQL, the Temporal server built
 * from the Go module proxy, two `steward worker` and two `steward node` processes), once for the
 * whole run. The Steward processes run the compiled CLI (dist/, built by `npm ci` / `npm run build`)
 * with the test agents preloaded. STEWARD_CLUSTER_DIR tells the tests where its state file is.
 */
export default async function clusterSetup(): Promise<void> {
  if (!existsSync(join(REPO, 'dist', 'cli', 'main.js')))
    throw new Error('the cluster runs the compiled CLI: npm run build first');
  const dir = mkdtempSync(join(tmpdir(), 'steward-cluster-'));
  process.env.STEWARD_CLUSTER_DIR = dir;
  const started = Date.now();
  const state = await clusterUp({
    dir,
    workers: 2,
    nodes: [
      { id: 'node-a', trust: 'local', pickupTimeoutSeconds: 3 },
      { id: 'node-b', trust: 'private', pickupTimeoutSeconds: 3 },
    ],
    config: CLUSTER_TEST_CONFIG,
    stewardCommand: [process.execPath, '--require', HOOKS, join(REPO, 'bin', 'steward.js')],
    report: (line) => process.stderr.write(`${line}\n`),
    // the teardown stops it in order; should this process die first, nothing of it outlives the run
    watchdog: true,
  });
  process.stderr.write(
    `\ncluster up in ${((Date.now() - started) / 1000).toFixed(1)} s: ${JSON.stringify(state.timings)}\n`,
  );
}
