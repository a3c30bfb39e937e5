import { rmSync } from 'node:fs';
import type { DevServer } from '../../src/runtime/devServer';

export default async function globalTeardown(): Promise<void> {
  const server = (globalThis as { __stewardServer?: DevServer }).__stewardServer;
  await server?.stop();
  if (process.env.STEWARD_TEST_DIR) rmSync(process.env.STEWARD_TEST_DIR, { recursive: true, force: true });
}
