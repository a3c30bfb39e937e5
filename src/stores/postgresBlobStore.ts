import { Pool, type PoolConfig } from 'pg';
import type { BlobBackend } from './blobStore';

/**
 * Blobs in a PostgreSQL table, so workers on different machines share claim checks without a
 * shared directory. PostgreSQL because a cluster runs on it already (Temporal's own databases):
 * the blobs get a database of their own on the same server, with no new service to run; bytea
 * holds what Steward stores (a step's output is at most 8 MiB).
 *
 * The table is made on first use. Each backend keeps a small pool that lets the process exit when
 * it is idle (a CLI command need not close it).
 */
export const DEFAULT_BLOB_TABLE = 'steward_blobs';

/** `PostgreSQL 127.0.0.1:5432/steward_blobs`: where, without user or password. */
export function describePostgresUrl(url: string): string {
  try {
    const u = new URL(url);
    return `PostgreSQL ${u.hostname}:${u.port || 5432}${u.pathname}`;
  } catch {
    return 'PostgreSQL (unparsable URL)';
  }
}

export class PostgresBlobBackend implements BlobBackend {
  readonly where: string;
  private readonly pool: Pool;
  private readonly table: string;
  private ready?: Promise<void>;

  constructor(url: string, options: { table?: string; pool?: PoolConfig } = {}) {
    this.table = options.table ?? DEFAULT_BLOB_TABLE;
    if (!/^[a-z_][a-z0-9_]{0,62}$/.test(this.table)) throw new Error(`not a plain table name: ${this.table}`);
    this.pool = new Pool({
      connectionString: url,
      max: 4,
      idleTimeoutMillis: 10_000,
      allowExitOnIdle: true,
      ...options.pool,
    });
    // An idle connection that breaks (the server restarting) must not end the process; the next
    // query opens a new one.
    this.pool.on('error', () => undefined);
    this.where = `${describePostgresUrl(url)} (table ${this.table})`;
  }

  /** Makes the table once per process; two processes making it at once is fine. */
  private ensureTable(): Promise<void> {
    this.ready ??= (async () => {
      const create = `CREATE TABLE IF NOT EXISTS ${this.table} (
        hash text PRIMARY KEY CHECK (hash ~ '^[0-9a-f]{64}$'),
        bytes bytea NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      )`;
      try {
        await this.pool.query(create);
      } catch (err) {
        // CREATE TABLE IF NOT EXISTS racing another process: the loser gets a unique violation
        if ((err as { code?: string }).code !== '23505') throw err;
      }
    })().catch((err) => {
      this.ready = undefined; // the database may come back: try again next time
      throw err;
    });
    return this.ready;
  }

  async write(hash: string, bytes: Buffer): Promise<void> {
    await this.ensureTable();
    await this.pool.query(
      `INSERT INTO ${this.table} (hash, bytes) VALUES ($1, $2) ON CONFLICT (hash) DO NOTHING`,
      [hash, bytes],
    );
  }

  async read(hash: string): Promise<Buffer | undefined> {
    await this.ensureTable();
    const { rows } = await this.pool.query<{ bytes: Buffer }>(
      `SELECT bytes FROM ${this.table} WHERE hash = $1`,
      [hash],
    );
    return rows[0]?.bytes;
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
