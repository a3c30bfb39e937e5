import { bundleStewardWorkflows } from '../../src/runtime/worker';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * One workflow bundle for the whole run (bundling takes seconds), shared by the replay tests and the
 * workers of the integration tests. Both projects' global setups call this; the second finds it made.
 */
export async function ensureTestBundle(): Promise<void> {
  if (!process.env.STEWARD_TEST_DIR)
    process.env.STEWARD_TEST_DIR = mkdtempSync(join(tmpdir(), 'steward-test-'));
  if (process.env.STEWARD_TEST_BUNDLE) return;
  const bundle = await bundleStewardWorkflows({
    logger: { trace() {}, debug() {}, info() {}, warn: console.warn, error: console.error, log() {} },
  });
  const bundlePath = join(process.env.STEWARD_TEST_DIR, 'workflow-bundle.js');
  writeFileSync(bundlePath, bundle.code);
  process.env.STEWARD_TEST_BUNDLE = bundlePath;
}

/** The unit project's setup: the bundle only, no server. */
export default ensureTestBundle;
