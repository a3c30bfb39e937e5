import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { startDetached, waitFor, type ProcessRecord } from './processes';
import { isRunning } from '../watchdog';

/**
 * The cluster's own PostgreSQL: a throwaway database cluster (initdb) in the cluster's directory,
 * listening on 127.0.0.1 on a free port, password-authenticated. Not Debian's system cluster
 * (`pg_ctlcluster 15 main`): tests then neither need nor disturb whatever runs on 5432, two
 * checkouts can run side by side, and `cluster down --purge` leaves nothing behind.
 */
export interface PostgresSettings {
  host: string;
  port: number;
  user: string;
  password: string;
}

export class PostgresMissing extends Error {}

/** PostgreSQL's server programs: `PG_BIN`, else Debian's newest /usr/lib/postgresql/N/bin, else PATH. */
export function postgresBinDir(): string {
  const explicit = process.env.PG_BIN;
  if (explicit) {
    if (!existsSync(join(explicit, 'initdb')))
      throw new PostgresMissing(`PG_BIN=${explicit} holds no initdb`);
    return explicit;
  }
  const debian = '/usr/lib/postgresql';
  if (existsSync(debian)) {
    const versions = readdirSync(debian)
      .filter((v) => existsSync(join(debian, v, 'bin', 'initdb')))
      .sort((a, b) => Number(b) - Number(a));
    if (versions[0]) return join(debian, versions[0], 'bin');
  }
  const which = spawnSync('sh', ['-c', 'command -v initdb'], { encoding: 'utf8' }).stdout.trim();
  if (which) return dirname(which);
  throw new PostgresMissing(
    'PostgreSQL is not installed: on Debian/Ubuntu `apt-get install -y postgresql` (its server need not run; the cluster starts its own), or set PG_BIN to the directory holding initdb and postgres',
  );
}

/** PostgreSQL will not run as root: as root, its files and processes belong to the `postgres` user. */
function runAs(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const id = (flag: string) => spawnSync('id', [flag, 'postgres'], { encoding: 'utf8' });
  const uid = id('-u');
  const gid = id('-g');
  if (uid.status !== 0 || gid.status !== 0)
    throw new PostgresMissing(
      'running as root, PostgreSQL needs a `postgres` user to run as (apt-get install postgresql makes one)',
    );
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

function run(
  bin: string,
  args: string[],
  as: { uid: number; gid: number } | undefined,
  env = process.env,
): void {
  const out = spawnSync(bin, args, { encoding: 'utf8', uid: as?.uid, gid: as?.gid, env });
  if (out.status !== 0)
    throw new Error(
      `${bin} ${args.join(' ')} failed (exit ${out.status}): ${out.stderr || out.stdout || out.error?.message}`,
    );
}

/** Makes the database cluster in `dataDir` unless it is there already; true when it was made now. */
export function initPostgres(dataDir: string, settings: PostgresSettings): boolean {
  if (existsSync(join(dataDir, 'PG_VERSION'))) return false;
  const bin = postgresBinDir();
  const as = runAs();
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const pwfile = join(dirname(dataDir), '.pgpass-init');
  writeFileSync(pwfile, `${settings.password}\n`, { mode: 0o600 });
  try {
    if (as) {
      // The cluster's directory is ours (mkdtemp makes it 0700): let the postgres user pass through it.
      const parent = dirname(dataDir);
      chmodSync(parent, statSync(parent).mode | 0o001);
      chownSync(dataDir, as.uid, as.gid);
      chownSync(pwfile, as.uid, as.gid);
      const reach = spawnSync('test', ['-w', dataDir], { uid: as.uid, gid: as.gid });
      if (reach.status !== 0)
        throw new PostgresMissing(
          `the postgres user cannot reach ${dataDir} (a parent directory is closed to it, e.g. /root): put the cluster directory elsewhere (--dir), e.g. under /tmp or /var/tmp`,
        );
    }
    run(
      join(bin, 'initdb'),
      [
        '-D',
        dataDir,
        '-U',
        settings.user,
        `--pwfile=${pwfile}`,
        '--auth=scram-sha-256',
        '-E',
        'UTF8',
        '--locale=C',
      ],
      as,
    );
  } catch (err) {
    rmSync(dataDir, { recursive: true, force: true }); // a half-made cluster would be reused next time
    throw err;
  } finally {
    rmSync(pwfile, { force: true });
  }
  return true;
}

/** Starts `postgres` on 127.0.0.1 only (no Unix socket) and waits until it accepts connections. */
export async function startPostgres(
  dataDir: string,
  settings: PostgresSettings,
  log: string,
): Promise<ProcessRecord> {
  const bin = postgresBinDir();
  const as = runAs();
  const record = startDetached({
    name: 'postgres',
    command: join(bin, 'postgres'),
    args: [
      '-D',
      dataDir,
      '-p',
      String(settings.port),
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      'unix_socket_directories=',
      // four Temporal services with their pools, plus the blob stores of every Steward process
      '-c',
      'max_connections=300',
    ],
    log,
    marker: dataDir,
    uid: as?.uid,
    gid: as?.gid,
  });
  await waitFor(
    'PostgreSQL did not accept connections',
    async () => {
      const ready = spawnSync(join(bin, 'pg_isready'), [
        '-h',
        settings.host,
        '-p',
        String(settings.port),
        '-q',
      ]);
      return ready.status === 0 ? true : undefined;
    },
    { timeoutMs: 30_000, intervalMs: 50, alive: () => isRunning(record.pid), log },
  );
  return record;
}

/** Runs SQL as the cluster's superuser with psql (`-d` a database), for setup only. */
export function psql(settings: PostgresSettings, database: string, sql: string): string {
  const out = spawnSync(
    join(postgresBinDir(), 'psql'),
    ['-h', settings.host, '-p', String(settings.port), '-U', settings.user, '-d', database, '-tAc', sql],
    { encoding: 'utf8', env: { ...process.env, PGPASSWORD: settings.password } },
  );
  if (out.status !== 0) throw new Error(`psql: ${out.stderr}`);
  return out.stdout.trim();
}

/** Creates `database` unless it exists. */
export function ensureDatabase(settings: PostgresSettings, database: string): void {
  if (!/^[a-z_][a-z0-9_]*$/.test(database)) throw new Error(`not a plain database name: ${database}`);
  const exists = psql(settings, 'postgres', `SELECT 1 FROM pg_database WHERE datname = '${database}'`);
  if (exists !== '1') psql(settings, 'postgres', `CREATE DATABASE ${database}`);
}

/** `postgres://user:password@host:port/database` */
export function postgresUrl(settings: PostgresSettings, database: string): string {
  return `postgres://${encodeURIComponent(settings.user)}:${encodeURIComponent(settings.password)}@${settings.host}:${settings.port}/${database}`;
}
