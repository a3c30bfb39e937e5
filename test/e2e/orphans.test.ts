/**
 * A dev server started by Steward never outlives its owner: real processes, real signals, no mocks.
 * Each test starts its own servers on its own ports and data directory (never the suite's server),
 * and afterAll kills whatever server pid a test saw, should an assertion have failed halfway.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { loadConfig } from '../../src/config/load';
import { devServerArgs, freePort } from '../../src/runtime/devServer';
import { devServerFile, stopOrphanedServer } from '../../src/runtime/localStack';
import { ensureTemporalCli } from '../../src/runtime/temporalCli';
import { isRunning } from '../../src/runtime/watchdog';
import { CliProcess, stopAllCli, type CliEnv } from '../support/cliProcess';
import { eventually } from '../support/harness';

jest.setTimeout(90_000);

const REPO = join(__dirname, '..', '..');
// each steward process here gets its own data directory; the test reads the same ones through loadConfig
delete process.env.STEWARD_DATA_DIR;
const TSX = require.resolve('tsx/cjs', { paths: [REPO] });
const root = mkdtempSync(join(process.env.STEWARD_TEST_DIR ?? '/tmp', 'orphans-'));
/** Every server pid a test has seen, so none outlives the file even when a test fails. */
const serverPids = new Set<number>();

afterAll(async () => {
  await stopAllCli();
  for (const pid of serverPids) if (isRunning(pid)) process.kill(-pid, 'SIGKILL');
});

/** A data directory and config of its own: `steward dev` with one compute node and no model calls. */
function install(name: string): CliEnv & { configFile: string } {
  const dir = join(root, name);
  const workspace = join(dir, 'workspace');
  mkdirSync(workspace, { recursive: true });
  const config = join(dir, 'steward.yaml');
  writeFileSync(
    config,
    stringify({
      temporal: { taskQueue: `orphans-${name}` },
      providers: { none: { kind: 'openai-compatible', baseURL: 'http://127.0.0.1:9/v1' } },
      models: [{ id: 'none', provider: 'none', model: 'none', trust: 'public' }],
      computeNodes: [{ id: 'local', taskQueue: `orphans-${name}-node`, trust: 'local' }],
      tools: { workspace },
      dataDir: join(dir, 'data'),
    }),
  );
  // TEMPORAL_ADDRESS (the suite's server) would make dev's commands look there instead
  return {
    config,
    configFile: config,
    dataDir: join(dir, 'data'),
    cwd: dir,
    extra: { TEMPORAL_ADDRESS: '' },
  };
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** Resolves once `pid` has exited and both ports can be listened on again. */
function stoppedAndFree(pid: number, ports: number[], timeoutMs = 5000): Promise<true> {
  return eventually(
    async () =>
      !isRunning(pid) && (await Promise.all(ports.map(portFree))).every(Boolean) ? true : undefined,
    `server ${pid} gone and ports ${ports.join(', ')} free`,
    timeoutMs,
  );
}

function recordOf(dataDir: string): { pid: number; serverPid: number } {
  return JSON.parse(readFileSync(join(dataDir, 'dev-server.json'), 'utf8')) as {
    pid: number;
    serverPid: number;
  };
}

/** The watchdog guarding `serverPid`: `node -e <script> <serverPid>`. */
function watchdogOf(serverPid: number): number | undefined {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const argv = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').filter(Boolean);
      if (argv[1] === '-e' && argv.at(-1) === String(serverPid)) return Number(entry);
    } catch {
      // exited while we looked
    }
  }
  return undefined;
}

/** `steward dev` on the given ports, once it says it is up; the server's pid is remembered. */
async function startDev(
  env: CliEnv,
  port: number,
  uiPort: number,
): Promise<{ cli: CliProcess; serverPid: number }> {
  const cli = new CliProcess(['dev', '--port', String(port), '--ui-port', String(uiPort)], env);
  await cli.waitFor(`Temporal server: 127.0.0.1:${port}`, { timeoutMs: 60_000 });
  // up means all of it (the API and review lane start after the server): a signal before is start-up's
  await cli.waitFor('Run a task in another terminal', { timeoutMs: 60_000 });
  const { pid, serverPid } = recordOf(env.dataDir);
  expect(pid).toBe(cli.child.pid); // the record names its owner, which findServer checks
  serverPids.add(serverPid);
  expect(isRunning(serverPid)).toBe(true);
  return { cli, serverPid };
}

test('kill -9 of steward dev stops its server; the next steward dev starts at once on the same ports', async () => {
  const env = install('kill9');
  const [port, uiPort] = [await freePort(), await freePort()];
  const first = await startDev(env, port, uiPort);
  first.cli.child.kill('SIGKILL');
  await stoppedAndFree(first.serverPid, [port, uiPort]);
  // its work done, the watchdog is gone too
  await eventually(async () => (watchdogOf(first.serverPid) ? undefined : true), 'the watchdog gone', 2000);

  // the record of a dead owner does not make dev refuse ("already running")
  const second = await startDev(env, port, uiPort);
  second.cli.child.kill('SIGTERM');
  const result = await second.cli.done(10_000);
  expect(result.code).toBe(0);
  expect(result.stderr).toContain('stopping…');
  await stoppedAndFree(second.serverPid, [port, uiPort], 1000);
  expect(existsSync(devServerFile(loadConfig(env.configFile)))).toBe(false);
});

test('an orphaned server recorded in the data directory is stopped by the next steward dev', async () => {
  const env = install('orphan');
  const [port, uiPort] = [await freePort(), await freePort()];
  // The worst case, owner and watchdog both gone, made directly: a real server on this data
  // directory's database, its output going nowhere, recorded by a steward process that has exited.
  const cliPath = await ensureTemporalCli();
  const dbFile = join(env.dataDir, 'temporal.db');
  mkdirSync(env.dataDir, { recursive: true });
  const orphan = spawn(cliPath, devServerArgs({ cliPath, port, uiPort, dbFile }), {
    detached: true,
    stdio: 'ignore',
  });
  serverPids.add(orphan.pid!);
  const deadOwner = spawn(process.execPath, ['-e', '']);
  await new Promise((r) => deadOwner.once('exit', r));
  writeFileSync(
    join(env.dataDir, 'dev-server.json'),
    JSON.stringify({ address: `127.0.0.1:${port}`, pid: deadOwner.pid, serverPid: orphan.pid }),
  );
  await eventually(async () => ((await portFree(port)) ? undefined : true), 'the orphan listening', 30_000);

  const dev = await startDev(env, port, uiPort);
  expect(dev.cli.stderr).toContain(
    `stopping the Temporal dev server (pid ${orphan.pid}) left behind by steward process ${deadOwner.pid}`,
  );
  expect(isRunning(orphan.pid!)).toBe(false);
  dev.cli.child.kill('SIGINT');
  expect((await dev.cli.done(10_000)).code).toBe(0);
  await stoppedAndFree(dev.serverPid, [port, uiPort], 1000);
});

test('SIGINT while steward dev is starting ends it, and the server it had started with it', async () => {
  const env = install('startup');
  const [port, uiPort] = [await freePort(), await freePort()];
  const cli = new CliProcess(['dev', '--port', String(port), '--ui-port', String(uiPort)], env);
  // the moment the server process exists, long before the workers are up
  const serverPid = await eventually(
    async () => findServerProcess(env.dataDir),
    'the dev server process',
    30_000,
  );
  serverPids.add(serverPid);
  cli.child.kill('SIGINT');
  const result = await cli.done(10_000);
  expect(result.code).toBe(130);
  expect(result.stdout).not.toContain('Temporal server:');
  await stoppedAndFree(serverPid, [port, uiPort]);
});

/** The `temporal server start-dev` process on this data directory's database, if one runs. */
function findServerProcess(dataDir: string): number | undefined {
  const dbFile = join(dataDir, 'temporal.db');
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const argv = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      if (argv.includes('start-dev') && argv.includes(dbFile)) return Number(entry);
    } catch {
      // exited while we looked
    }
  }
  return undefined;
}

describe('startDevServer in a process of its own', () => {
  /** A node process that starts a dev server and stops it (and exits 0) on SIGINT or SIGTERM. */
  async function owner(): Promise<{
    child: ChildProcess;
    pid: number;
    port: number;
    exited: Promise<number | null>;
  }> {
    const cliPath = await ensureTemporalCli();
    const port = await freePort();
    const script = `
      const { startDevServer } = require(${JSON.stringify(join(REPO, 'src', 'runtime', 'devServer.ts'))});
      startDevServer({ cliPath: ${JSON.stringify(cliPath)}, port: ${port}, headless: true }).then((server) => {
        const stop = () => server.stop().then(() => process.exit(0));
        process.once('SIGINT', stop).once('SIGTERM', stop);
        process.stdout.write(server.pid + '\\n');
        setInterval(() => {}, 60_000);
      });`;
    const child = spawn(process.execPath, ['--require', TSX, '-e', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const pid = await new Promise<number>((resolve, reject) => {
      child.stdout!.once('data', (chunk: Buffer) => resolve(Number(chunk.toString().trim())));
      child.once('exit', (code) => reject(new Error(`the owner exited (${code}) before its server was up`)));
    });
    serverPids.add(pid);
    return { child, pid, port, exited };
  }

  test('SIGKILL of the owner stops the server within a few seconds', async () => {
    const { child, pid, port } = await owner();
    expect(isRunning(pid)).toBe(true);
    child.kill('SIGKILL');
    await stoppedAndFree(pid, [port]);
  });

  test.each(['SIGINT', 'SIGTERM'] as const)('%s of the owner stops the server cleanly', async (signal) => {
    const { child, pid, port, exited } = await owner();
    child.kill(signal);
    expect(await exited).toBe(0);
    await stoppedAndFree(pid, [port], 1000);
    await eventually(
      async () => (watchdogOf(pid) === undefined ? true : undefined),
      'the watchdog gone',
      2000,
    );
  });
});

test('SIGINT of steward run with an embedded server ends it and stops that server', async () => {
  const env = install('run');
  mkdirSync(join(env.cwd, 'workspace', 'notes'), { recursive: true });
  copyFileSync(
    join(REPO, 'workspace', 'notes', 'meeting.md'),
    join(env.cwd, 'workspace', 'notes', 'meeting.md'),
  );
  // a model endpoint that accepts and never answers keeps the task busy while we interrupt it
  const silent = createServer(() => undefined);
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  const modelPort = (silent.address() as { port: number }).port;
  writeFileSync(
    env.config,
    readFileSync(env.config, 'utf8').replace('127.0.0.1:9/', `127.0.0.1:${modelPort}/`),
  );
  try {
    const run = new CliProcess(['run', 'notes-digest'], env);
    await run.waitFor(/^task \S+/m, { timeoutMs: 60_000 });
    const { pid, serverPid } = recordOf(env.dataDir);
    expect(pid).toBe(run.child.pid);
    serverPids.add(serverPid);
    run.child.kill('SIGINT'); // the Temporal Runtime stops the workers; the task waits for the next worker
    expect((await run.done(10_000)).code).toBe(130);
    await stoppedAndFree(serverPid, [], 1000);
    expect(existsSync(join(env.dataDir, 'dev-server.json'))).toBe(false);
  } finally {
    await new Promise((r) => silent.close(r));
  }
});

test('the stale-server check stops only a temporal dev server on this data directory', async () => {
  const env = install('stale');
  const config = loadConfig(env.configFile);
  mkdirSync(config.dataDir, { recursive: true });
  const deadOwner = spawn(process.execPath, ['-e', '']);
  await new Promise((r) => deadOwner.once('exit', r));
  // a recorded pid now used by something else (here: a sleeping process) is left alone
  const bystander = spawn('sleep', ['30'], { stdio: 'ignore' });
  try {
    writeFileSync(
      devServerFile(config),
      JSON.stringify({ address: '127.0.0.1:1', pid: deadOwner.pid, serverPid: bystander.pid }),
    );
    await stopOrphanedServer(config);
    expect(isRunning(bystander.pid!)).toBe(true);
    expect(existsSync(devServerFile(config))).toBe(false);
  } finally {
    bystander.kill('SIGKILL');
  }
});
