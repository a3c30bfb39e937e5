import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname } from 'node:path';
import { Connection } from '@temporalio/client';
import { STEWARD_SEARCH_ATTRIBUTES } from '../workflows/searchAttributes';
import { STOP_GRACE_MS, watchProcessGroup } from './watchdog';

/**
 * The dev server's history queues poll at most 20 times a second by default, which makes each step
 * wait up to 50 ms; lifted, a 10-step task takes ~0.12 s instead of ~1 s (DESIGN.md §5).
 */
export const TUNED_DYNAMIC_CONFIG: Record<string, string> = {
  'history.transferProcessorMaxPollRPS': '10000',
  'history.timerProcessorMaxPollRPS': '10000',
  'history.visibilityProcessorMaxPollRPS': '10000',
  'system.enableActivityEagerExecution': 'true',
};

export interface DevServerOptions {
  cliPath: string;
  port?: number;
  uiPort?: number;
  /** Keep workflows across restarts in this SQLite file; in memory when absent. */
  dbFile?: string;
  headless?: boolean;
  namespace?: string;
}

export interface DevServer {
  address: string;
  uiUrl?: string;
  /** The server's pid, which also leads its process group. */
  pid: number;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/**
 * `preferred` when it is free (the familiar 7233/8233 for `steward dev`), else any free port, which
 * `onFallback` hears of: a person who expects the usual port must be told it moved.
 */
export async function portOrFree(preferred: number, onFallback?: (port: number) => void): Promise<number> {
  const free = await new Promise<boolean>((resolve) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen(preferred, '127.0.0.1', () => server.close(() => resolve(true)));
  });
  if (free) return preferred;
  const port = await freePort();
  onFallback?.(port);
  return port;
}

export function devServerArgs(options: DevServerOptions & { port: number; uiPort: number }): string[] {
  const args = [
    'server',
    'start-dev',
    '--ip',
    '127.0.0.1',
    '--port',
    String(options.port),
    '--log-level',
    'warn',
  ];
  if (options.headless) args.push('--headless');
  else args.push('--ui-port', String(options.uiPort));
  if (options.dbFile) {
    // The CLI's SQLite defaults (rollback journal, synchronous FULL) tripled the server's CPU per step
    // (bench/README.md); WAL with NORMAL loses nothing on a crash, only on a power cut.
    args.push('--db-filename', options.dbFile);
    args.push('--sqlite-pragma', 'journal_mode=WAL', '--sqlite-pragma', 'synchronous=NORMAL');
  }
  if (options.namespace && options.namespace !== 'default') args.push('--namespace', options.namespace);
  for (const [name, type] of Object.entries(STEWARD_SEARCH_ATTRIBUTES))
    args.push('--search-attribute', `${name}=${type}`);
  for (const [key, value] of Object.entries(TUNED_DYNAMIC_CONFIG))
    args.push('--dynamic-config-value', `${key}=${value}`);
  return args;
}

/** Waits until the server answers and Steward's search attributes are registered. */
async function waitUntilReady(
  address: string,
  namespace: string,
  child: ChildProcess,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error(`temporal server exited (${child.exitCode ?? child.signalCode}) before it was ready`);
    try {
      const connection = await Connection.connect({ address, connectTimeout: 1000 });
      try {
        const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace });
        const missing = Object.keys(STEWARD_SEARCH_ATTRIBUTES).filter((name) => !customAttributes?.[name]);
        if (missing.length === 0) return;
        lastError = new Error(`search attributes not registered yet: ${missing.join(', ')}`);
      } finally {
        await connection.close();
      }
    } catch (err) {
      lastError = err;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`temporal server at ${address} was not ready within ${timeoutMs} ms: ${String(lastError)}`);
}

/**
 * Starts `temporal server start-dev`, tuned and with Steward's search attributes registered.
 *
 * The server gets its own process group, so a Ctrl-C in the terminal reaches only its owner, which
 * can stop its workers before the server; and a watchdog stops that group if the owner dies without
 * stopping it (SIGKILL, a crash, process.exit), so no server is left holding its ports and database.
 */
export async function startDevServer(options: DevServerOptions): Promise<DevServer> {
  const port = options.port ?? (await freePort());
  const uiPort = options.uiPort ?? (await freePort());
  const namespace = options.namespace ?? 'default';
  if (options.dbFile) mkdirSync(dirname(options.dbFile), { recursive: true });
  const child = spawn(options.cliPath, devServerArgs({ ...options, port, uiPort }), {
    stdio: ['ignore', 'ignore', 'pipe'],
    detached: true,
  });
  if (child.pid === undefined) {
    // spawn failed (ENOENT, EACCES); the 'error' event says why
    const error = await new Promise<Error>((resolve) => child.once('error', resolve));
    throw new Error(`cannot start ${options.cliPath}: ${error.message}`);
  }
  const watchdog = watchProcessGroup(child.pid);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const signalGroup = (signal: NodeJS.Signals): void => {
    try {
      process.kill(-child.pid!, signal);
    } catch {
      // the group has gone already
    }
  };
  // a Go panic says what went wrong first and then prints pages of stack: keep the start and the end
  let stderrHead = '';
  let stderrTail = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    const text = chunk.toString();
    if (stderrHead.length < 2000) stderrHead += text;
    else stderrTail = (stderrTail + text).slice(-2000);
  });
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      signalGroup('SIGTERM');
      const timer = setTimeout(() => signalGroup('SIGKILL'), STOP_GRACE_MS);
      await exited;
      clearTimeout(timer);
    }
    watchdog.release();
  };
  const address = `127.0.0.1:${port}`;
  try {
    await waitUntilReady(address, namespace, child, 60_000);
  } catch (err) {
    signalGroup('SIGKILL');
    await stop();
    const stderr = stderrTail ? `${stderrHead.slice(0, 2000)}\n…\n${stderrTail}` : stderrHead;
    throw new Error(`${(err as Error).message}\n${stderr}`);
  }
  return {
    address,
    uiUrl: options.headless ? undefined : `http://127.0.0.1:${uiPort}`,
    pid: child.pid,
    stop,
  };
}
