import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

const REPO = join(__dirname, '..', '..');
const MAIN = join(REPO, 'src', 'cli', 'main.ts');
// Resolved here: the CLI runs in a temp directory, from which `--require tsx/cjs` would not resolve.
const TSX = require.resolve('tsx/cjs', { paths: [REPO] });

export interface CliEnv {
  config: string;
  dataDir: string;
  cwd: string;
  user?: string;
  extra?: Record<string, string>;
}

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Every process started through this module, so afterAll can stop whatever is still running. */
const started = new Set<CliProcess>();

/** The real `steward` CLI, run from source as its own process, with its output collected as it comes. */
export class CliProcess {
  readonly child: ChildProcess;
  stdout = '';
  stderr = '';
  readonly exited: Promise<CliResult>;
  private listeners = new Set<() => void>();
  private result?: CliResult;

  constructor(
    readonly args: string[],
    env: CliEnv,
  ) {
    this.child = spawn(process.execPath, ['--require', TSX, MAIN, ...args], {
      cwd: env.cwd,
      env: {
        ...process.env,
        STEWARD_CONFIG: env.config,
        STEWARD_DATA_DIR: env.dataDir,
        STEWARD_USER: env.user ?? 'alice',
        STEWARD_LOG_LEVEL: 'warn',
        ...env.extra,
      },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    started.add(this);
    this.child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      this.stdout += chunk;
      this.notify();
    });
    this.child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      this.stderr += chunk;
      this.notify();
    });
    // A process that exits before reading its stdin must not fail the test with EPIPE.
    this.child.stdin!.on('error', () => undefined);
    this.exited = new Promise((resolve) => {
      this.child.once('close', (code, signal) => {
        this.result = { code, signal, stdout: this.stdout, stderr: this.stderr };
        started.delete(this);
        this.notify();
        resolve(this.result);
      });
    });
  }

  get running(): boolean {
    return !this.result;
  }

  write(text: string): void {
    this.child.stdin!.write(text);
  }

  /** Resolves with the first match of `pattern` in stdout (or stderr with `stream`); fails on timeout or exit. */
  waitFor(
    pattern: RegExp | string,
    { timeoutMs = 30_000, stream = 'stdout' as 'stdout' | 'stderr' } = {},
  ): Promise<RegExpMatchArray> {
    const regex = typeof pattern === 'string' ? new RegExp(escape(pattern)) : pattern;
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        const match = this[stream].match(regex);
        if (match) {
          finish();
          resolve(match);
          return true;
        }
        if (this.result) {
          finish();
          reject(
            new Error(
              `steward ${this.args.join(' ')} exited (${this.result.code ?? this.result.signal}) without printing ${regex}\n${this.describe()}`,
            ),
          );
          return true;
        }
        return false;
      };
      const timer = setTimeout(() => {
        finish();
        reject(
          new Error(
            `timed out after ${timeoutMs} ms waiting for ${regex} from steward ${this.args.join(' ')}\n${this.describe()}`,
          ),
        );
      }, timeoutMs);
      const finish = (): void => {
        clearTimeout(timer);
        this.listeners.delete(listener);
      };
      const listener = (): void => void check();
      if (!check()) this.listeners.add(listener);
    });
  }

  /** Waits for exit; fails after `timeoutMs` (the process is then killed). */
  async done(timeoutMs = 30_000): Promise<CliResult> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        this.child.kill('SIGKILL');
        reject(
          new Error(`steward ${this.args.join(' ')} did not exit within ${timeoutMs} ms\n${this.describe()}`),
        );
      }, timeoutMs);
    });
    try {
      return await Promise.race([this.exited, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** SIGTERM, then SIGKILL if it has not exited after `graceMs`; resolves once it has exited. */
  async stop(graceMs = 10_000): Promise<CliResult> {
    if (this.result) return this.result;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  describe(): string {
    return `--- stdout ---\n${this.stdout}\n--- stderr ---\n${this.stderr}`;
  }

  private notify(): void {
    for (const listener of [...this.listeners]) listener();
  }
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Runs a command to completion. */
export async function runCli(args: string[], env: CliEnv, timeoutMs = 30_000): Promise<CliResult> {
  return new CliProcess(args, env).done(timeoutMs);
}

/** Stops every CLI process still running (SIGTERM, then SIGKILL), waiting for each to exit. */
export async function stopAllCli(): Promise<void> {
  await Promise.all([...started].map((p) => p.stop()));
}
