import { bundleWorkflowCode } from '@temporalio/worker';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDevServer } from '../../src/runtime/devServer';
import { ensureTemporalCli } from '../../src/runtime/temporalCli';

/**
 * One Temporal dev server and one workflow bundle for the whole suite. A TEMPORAL_ADDRESS set by the
 * caller is used instead of starting a server (its search attributes must be registered).
 */
export default async function globalSetup(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'steward-test-'));
  process.env.STEWARD_TEST_DIR = dir;
  if (!process.env.TEMPORAL_ADDRESS) {
    const cliPath = await ensureTemporalCli();
    const server = await startDevServer({ cliPath, headless: true });
    (globalThis as { __stewardServer?: unknown }).__stewardServer = server;
    process.env.TEMPORAL_ADDRESS = server.address;
  }
  const bundle = await bundleWorkflowCode({
    workflowsPath: require.resolve('../../src/workflows'),
    logger: { trace() {}, debug() {}, info() {}, warn: console.warn, error: console.error, log() {} },
  });
  const bundlePath = join(dir, 'workflow-bundle.js');
  writeFileSync(bundlePath, bundle.code);
  process.env.STEWARD_TEST_BUNDLE = bundlePath;
}
