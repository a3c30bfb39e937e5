/**
 * `steward dev` on a machine where 7233 and 8233 are taken: it still starts, on other ports, and
 * says so. The real CLI as a process, its own data directory, the ports held by real listeners.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { CliProcess, stopAllCli } from '../support/cliProcess';

jest.setTimeout(90_000);

const held: Server[] = [];

/** Holds `port` unless something else holds it already: either way it is taken for steward dev. */
async function take(port: number): Promise<void> {
  const server = createServer();
  const listening = await new Promise<boolean>((resolve) => {
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => resolve(true));
  });
  if (listening) held.push(server);
}

afterAll(async () => {
  await stopAllCli();
  await Promise.all(held.map((s) => new Promise((resolve) => s.close(resolve))));
});

test('steward dev announces the ports it moved to when 7233 and 8233 are taken', async () => {
  const dir = mkdtempSync(join(process.env.STEWARD_TEST_DIR ?? '/tmp', 'dev-ports-'));
  const workspace = join(dir, 'workspace');
  mkdirSync(workspace, { recursive: true });
  const config = join(dir, 'steward.yaml');
  writeFileSync(
    config,
    stringify({
      temporal: { taskQueue: 'dev-ports' },
      providers: { none: { kind: 'openai-compatible', baseURL: 'http://127.0.0.1:9/v1' } },
      models: [{ id: 'none', provider: 'none', model: 'none', trust: 'public' }],
      computeNodes: [{ id: 'local', taskQueue: 'dev-ports-node', trust: 'local' }],
      tools: { workspace },
      api: { port: 0 },
      dataDir: join(dir, 'data'),
    }),
  );
  await take(7233);
  await take(8233);

  // TEMPORAL_ADDRESS (the suite's server) would make dev look there instead
  const env = { config, dataDir: join(dir, 'data'), cwd: dir, extra: { TEMPORAL_ADDRESS: '' } };
  const dev = new CliProcess(['dev'], env);
  const [, port] = await dev.waitFor(/^port 7233 is taken; the server listens on (\d+)$/m, {
    stream: 'stderr',
    timeoutMs: 60_000,
  });
  const [, uiPort] = await dev.waitFor(/^port 8233 is taken; the UI listens on (\d+)$/m, {
    stream: 'stderr',
  });
  // and it is where the announcement said
  await dev.waitFor(`Temporal server: 127.0.0.1:${port} `, { timeoutMs: 60_000 });
  await dev.waitFor(`Temporal UI:     http://127.0.0.1:${uiPort}`);
  await dev.waitFor('Run a task in another terminal', { timeoutMs: 60_000 });

  dev.child.kill('SIGTERM');
  expect((await dev.done(20_000)).code).toBe(0);
});
