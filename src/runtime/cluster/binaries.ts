import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';

/**
 * The production Temporal server Steward's cluster runs: the version the Temporal CLI v1.5.1 embeds,
 * built from the Go module proxy (no container images here; ../shared/CLUSTER.md).
 */
export const TEMPORAL_SERVER_VERSION = 'v1.29.1';
export const TEMPORAL_SERVER_MODULE = 'go.temporal.io/server';

export class ClusterBuildError extends Error {}

export interface ServerBinaries {
  /** `server`: the Temporal server (all four services in one process). */
  server: string;
  /** `sql`: temporal-sql-tool, which creates and migrates the schema. */
  sql: string;
  /** The server module's source directory: schema files and config templates. */
  moduleDir: string;
}

/**
 * Where built binaries live, outside any checkout so CI and every clone share them:
 * `$STEWARD_CACHE_DIR`, else `$XDG_CACHE_HOME/steward`, else `~/.cache/steward`.
 */
export function stewardCacheDir(): string {
  return (
    process.env.STEWARD_CACHE_DIR || join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'steward')
  );
}

export function serverBinDir(): string {
  return join(stewardCacheDir(), `temporal-server-${TEMPORAL_SERVER_VERSION}`);
}

function goAvailable(): boolean {
  return (process.env.PATH ?? '').split(delimiter).some((dir) => dir && existsSync(join(dir, 'go')));
}

function go(args: string[]): string {
  const out = spawnSync('go', args, { encoding: 'utf8', env: { ...process.env, GOFLAGS: '-mod=mod' } });
  if (out.status !== 0)
    throw new ClusterBuildError(`go ${args.join(' ')} failed: ${(out.stderr || out.error?.message) ?? ''}`);
  return out.stdout.trim();
}

/** The module's directory in Go's module cache, downloaded (seconds) if it is not there. */
export function serverModuleDir(): string {
  const cached = join(go(['env', 'GOMODCACHE']), `${TEMPORAL_SERVER_MODULE}@${TEMPORAL_SERVER_VERSION}`);
  if (existsSync(join(cached, 'schema'))) return cached;
  const info = JSON.parse(
    go(['mod', 'download', '-json', `${TEMPORAL_SERVER_MODULE}@${TEMPORAL_SERVER_VERSION}`]),
  );
  return info.Dir as string;
}

const PACKAGES = {
  server: `${TEMPORAL_SERVER_MODULE}/cmd/server@${TEMPORAL_SERVER_VERSION}`,
  sql: `${TEMPORAL_SERVER_MODULE}/cmd/tools/sql@${TEMPORAL_SERVER_VERSION}`,
} as const;

/** `go install` into a directory of its own, then moved into place: a half-built binary never counts. */
async function goInstall(
  pkg: string,
  binary: string,
  into: string,
  report: (line: string) => void,
): Promise<void> {
  const temp = mkdtempSync(join(into, '.build-'));
  const started = Date.now();
  try {
    await new Promise<void>((resolve, reject) => {
      const child = spawn('go', ['install', pkg], {
        stdio: ['ignore', 'ignore', 'pipe'],
        env: { ...process.env, GOBIN: temp },
      });
      const ticker = setInterval(
        () => report(`  …still building ${binary} (${Math.round((Date.now() - started) / 1000)} s)`),
        30_000,
      );
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => {
        stderr = (stderr + chunk.toString()).slice(-4000);
      });
      child.on('error', (err) => {
        clearInterval(ticker);
        reject(err);
      });
      child.on('exit', (code) => {
        clearInterval(ticker);
        if (code === 0) resolve();
        else reject(new ClusterBuildError(`go install ${pkg} failed (exit ${code}):\n${stderr}`));
      });
    });
    renameSync(join(temp, binary), join(into, binary));
  } finally {
    rmSync(temp, { recursive: true, force: true });
  }
  report(`built ${binary} in ${Math.round((Date.now() - started) / 1000)} s`);
}

/**
 * The server and the sql tool, built once with `go install …@v1.29.1` into the cache directory
 * (3–4 minutes each on 2 cores); later calls find them there.
 */
export async function ensureServerBinaries(
  report: (line: string) => void = (l) => process.stderr.write(`${l}\n`),
): Promise<ServerBinaries> {
  const dir = serverBinDir();
  const server = join(dir, 'server');
  const sql = join(dir, 'sql');
  const missing = (['server', 'sql'] as const).filter((b) => !existsSync(join(dir, b)));
  if (missing.length > 0 || !goAvailable()) {
    if (!goAvailable()) {
      if (missing.length === 0) {
        throw new ClusterBuildError(
          'the Temporal server is built but Go is not on PATH, and the schema files come from its module: install Go (https://go.dev/dl/)',
        );
      }
      throw new ClusterBuildError(
        `the cluster needs the Temporal server ${TEMPORAL_SERVER_VERSION}, built with Go: install Go (https://go.dev/dl/) or put server and sql in ${dir}`,
      );
    }
    mkdirSync(dir, { recursive: true });
    report(
      `Building the Temporal server ${TEMPORAL_SERVER_VERSION} (${missing.join(' and ')}) into ${dir}; once, 3-4 minutes each on 2 cores…`,
    );
    for (const binary of missing) await goInstall(PACKAGES[binary], binary, dir, report);
  }
  return { server, sql, moduleDir: serverModuleDir() };
}
