/**
 * Running code Steward does not trust (a stdio MCP server, later a compute job) under bubblewrap, so
 * that it cannot see the install's data directory (keys, database, blobs, audit files) or its config.
 *
 * What the process gets: the system read-only (`--ro-bind / /`), its own /proc, /dev and /tmp, every
 * protected path masked (a directory by an empty read-only tmpfs, a file by /dev/null), the paths its
 * config makes writable bound read-write, no network unless asked for, its own session (no terminal
 * injection), and it dies with the worker. Here in tools/ (below activities/, which compute jobs
 * will run from; shared/ is for workflow code and has no Node built-ins).
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, readdirSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { StewardError } from '../errors';

/** How to start one untrusted process. */
export interface SandboxSpec {
  command: string;
  args: string[];
  /** Its working directory (absolute); the worker's own otherwise. */
  cwd?: string;
  /** Share the host's network (its API calls); otherwise it has a loopback of its own only. */
  network: boolean;
  /** Absolute paths it may write (bound read-write); each must exist. */
  writable: string[];
  /** Absolute paths it must not see (the data directory, the config file, …). */
  hidden: string[];
}

/** Bubblewrap is missing or cannot make namespaces here; the message says what to do. */
export class SandboxUnavailable extends StewardError {}

/** A sandbox asked for what would undo its point (a writable path inside the data directory…). */
export class SandboxRefused extends StewardError {}

/** The `bwrap` executable on `pathEnv`, or undefined. */
export function findBwrap(pathEnv: string | undefined = process.env.PATH): string | undefined {
  return findExecutable('bwrap', pathEnv);
}

/**
 * Where `command` is: as given when it names a path (relative to `cwd`), else on `pathEnv`; undefined
 * when there is none. Checked before bwrap runs it, so a missing command says ENOENT as it does unconfined.
 */
export function findExecutable(
  command: string,
  pathEnv: string | undefined = process.env.PATH,
  cwd = process.cwd(),
): string | undefined {
  const dirs = command.includes('/') ? [cwd] : (pathEnv ?? '').split(delimiter).filter(Boolean);
  for (const dir of dirs) {
    const candidate = resolve(dir, command);
    try {
      accessSync(candidate, constants.X_OK);
      if (statSync(candidate).isFile()) return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

const probed = new Map<string, string | undefined>();

/** Whether this bwrap can make the namespaces the sandbox needs (a container may forbid them): undefined, or why not. */
export function bwrapProblem(bwrap: string): string | undefined {
  if (!probed.has(bwrap)) {
    const run = spawnSync(
      bwrap,
      ['--ro-bind', '/', '/', '--proc', '/proc', '--unshare-all', '--die-with-parent', '--', 'true'],
      { encoding: 'utf8', timeout: 10_000 },
    );
    probed.set(
      bwrap,
      run.status === 0
        ? undefined
        : (run.error?.message ?? run.stderr.trim()) || `it exited with ${run.status ?? run.signal}`,
    );
  }
  return probed.get(bwrap);
}

/**
 * The paths of an install that an untrusted process must not see: the data directory, the config
 * file and policy file, `.env` files beside the config and in the worker's directory, and the Temporal
 * CLI's profile file (it may hold an API key or a TLS key path).
 */
export function protectedPaths(install: {
  dataDir: string;
  configFile?: string;
  policyFile?: string;
}): string[] {
  const configFile =
    install.configFile ??
    (process.env.STEWARD_CONFIG ? resolve(process.env.STEWARD_CONFIG) : resolve('steward.yaml'));
  const dirs = new Set([resolve(configFile, '..'), process.cwd()]);
  const envFiles = [...dirs].flatMap((dir) => {
    try {
      return readdirSync(dir)
        .filter((name) => name === '.env' || name.startsWith('.env.'))
        .map((name) => join(dir, name));
    } catch {
      return [];
    }
  });
  const temporalProfile =
    process.env.TEMPORAL_CONFIG_FILE ??
    join(process.env.XDG_CONFIG_HOME ?? join(homedir(), '.config'), 'temporalio', 'temporal.toml');
  return [
    ...new Set([
      resolve(install.dataDir),
      configFile,
      ...(install.policyFile ? [resolve(install.policyFile)] : []),
      ...envFiles,
      temporalProfile,
    ]),
  ];
}

/** The directory Steward is installed in (its package root, above src/ or dist/). */
const STEWARD_ROOT = resolve(__dirname, '..', '..');

/** `inner` is `outer` or below it. */
function within(inner: string, outer: string): boolean {
  const rel = relative(outer, inner);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel));
}

/**
 * The bwrap arguments for `spec` (everything before the command). Refuses a writable path or working
 * directory that is, holds or lies inside a hidden path: bound later, it would show what is masked.
 */
export function bwrapArgs(spec: SandboxSpec): string[] {
  for (const path of [...spec.writable, ...(spec.cwd ? [spec.cwd] : []), ...spec.hidden])
    if (!isAbsolute(path)) throw new SandboxRefused(`sandbox path ${path} is not absolute`);
  for (const path of spec.writable) {
    const hidden = spec.hidden.find((h) => within(path, h) || within(h, path));
    if (hidden)
      throw new SandboxRefused(
        `sandbox.writable ${path} overlaps ${hidden}, which an untrusted process must not see`,
      );
    if (!existsSync(path)) throw new SandboxRefused(`sandbox.writable ${path} does not exist`);
  }
  const hiddenCwd = spec.cwd && spec.hidden.find((h) => within(spec.cwd!, h));
  if (hiddenCwd)
    throw new SandboxRefused(
      `cwd ${spec.cwd} is inside ${hiddenCwd}, which an untrusted process must not see`,
    );
  const args = ['--ro-bind', '/', '/', '--dev', '/dev', '--proc', '/proc', '--tmpfs', '/tmp'];
  // What the command needs that lives under /tmp (a CI clone, say) stays readable under the private
  // /tmp: Steward's own install, the working directories, the directories the command line names.
  // What must stay hidden in them is masked below, after them.
  const named = [spec.command, ...spec.args].filter((a) => isAbsolute(a)).map((a) => dirname(a));
  const needed = [STEWARD_ROOT, process.cwd(), ...(spec.cwd ? [spec.cwd] : []), ...named];
  for (const dir of new Set(needed))
    if (dir !== '/tmp' && within(dir, '/tmp') && existsSync(dir)) args.push('--ro-bind', dir, dir);
  // Without the network, no unix socket of the host either (Docker's, PostgreSQL's): /run is emptied.
  if (!spec.network) args.push('--tmpfs', '/run');
  // a path inside another hidden one is masked with it (and the emptied tmpfs has no place for a mount)
  const outermost = spec.hidden.filter(
    (path, i) => !spec.hidden.some((other, j) => j !== i && other !== path && within(path, other)),
  );
  for (const path of new Set(outermost)) {
    let isDir: boolean;
    try {
      isDir = statSync(path).isDirectory();
    } catch {
      continue; // nothing there to see (a data directory is made before this is called)
    }
    if (isDir) args.push('--tmpfs', path, '--remount-ro', path);
    else args.push('--ro-bind', '/dev/null', path);
  }
  for (const path of spec.writable) args.push('--bind', path, path);
  if (!spec.network) args.push('--remount-ro', '/run'); // after the mounts that may lie below it
  args.push('--unshare-all');
  if (spec.network) args.push('--share-net');
  args.push('--die-with-parent', '--new-session');
  if (spec.cwd) args.push('--chdir', spec.cwd);
  return args;
}

/**
 * The command line that runs `spec` under bubblewrap: `{ command: bwrap, args }`. A hidden path that
 * does not exist yet is not masked: the caller makes the data directory first.
 */
export function sandboxedCommand(
  spec: SandboxSpec,
  bwrap: string | undefined,
  why: { what: string; optOut: string },
): { command: string; args: string[] } {
  if (!findExecutable(spec.command, process.env.PATH, spec.cwd))
    throw new SandboxRefused(`spawn ${spec.command} ENOENT: no such executable`);
  if (!bwrap)
    throw new SandboxUnavailable(
      `${why.what} runs under bubblewrap, which is not installed (no bwrap on PATH): install it ` +
        `(apt-get install bubblewrap, dnf install bubblewrap) or, if you trust its code with the data ` +
        `directory and keys, ${why.optOut}`,
    );
  const problem = bwrapProblem(bwrap);
  if (problem)
    throw new SandboxUnavailable(
      `${why.what} runs under bubblewrap, and ${bwrap} cannot make its namespaces here (${problem}): ` +
        `allow unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1) or, if you trust ` +
        `its code with the data directory and keys, ${why.optOut}`,
    );
  return { command: bwrap, args: [...bwrapArgs(spec), '--', spec.command, ...spec.args] };
}
