import { startDevServer } from '../../src/runtime/devServer';
import { ensureTemporalCli } from '../../src/runtime/temporalCli';
import { ensureTestBundle } from './bundleSetup';

/**
 * The integration project's setup: one Temporal dev server for the whole suite, and the workflow
 * bundle. A TEMPORAL_ADDRESS set by the caller is used instead of starting a server (its search
 * attributes must be registered).
 */
export default async function globalSetup(): Promise<void> {
  await ensureTestBundle();
  if (!process.env.TEMPORAL_ADDRESS) {
    const cliPath = await ensureTemporalCli();
    const server = await startDevServer({ cliPath, headless: true });
    (globalThis as { __stewardServer?: unknown }).__stewardServer = server;
    process.env.TEMPORAL_ADDRESS = server.address;
  }
}
