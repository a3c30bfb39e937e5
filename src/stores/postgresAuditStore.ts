import { Pool, type PoolClient, type PoolConfig } from 'pg';
import type { AuditEntry } from '../audit/chain';
import type { SignedHead } from '../audit/head';
import { newEntriesAfter, seqsBefore, type AuditStore } from './auditStore';
import { describePostgresUrl } from './postgresBlobStore';

export const DEFAULT_AUDIT_TABLE = 'steward_audit';

/**
 * Audit trails in PostgreSQL, for workers on several machines. Two tables: `<table>_entries` (one row
 * per entry, keyed by task and seq) and `<table>_heads` (the signed heads). A trigger refuses every
 * UPDATE, DELETE and TRUNCATE, so the tables are append-only to anyone who is not their owner dropping it.
 * Each entry is kept as the exact JSON text it was hashed from.
 */
export class PostgresAuditStore implements AuditStore {
  readonly where: string;
  private readonly pool: Pool;
  private ready?: Promise<void>;

  constructor(
    url: string,
    private readonly table = DEFAULT_AUDIT_TABLE,
    pool: PoolConfig = {},
  ) {
    if (!/^[a-z_][a-z0-9_]{0,50}$/.test(table)) throw new Error(`not a plain table name: ${table}`);
    this.pool = new Pool({
      connectionString: url,
      max: 4,
      idleTimeoutMillis: 10_000,
      allowExitOnIdle: true,
      ...pool,
    });
    this.pool.on('error', () => undefined); // a broken idle connection must not end the process
    this.where = `${describePostgresUrl(url)} (tables ${table}_entries, ${table}_heads)`;
  }

  private ensureTables(): Promise<void> {
    const t = this.table;
    this.ready ??= this.transaction(async (client) => {
      // one creator at a time: CREATE ... IF NOT EXISTS still races on the catalog
      await client.query(`SELECT pg_advisory_xact_lock(hashtext('${t}'))`);
      await client.query(`CREATE TABLE IF NOT EXISTS ${t}_entries (
          task_id text NOT NULL, seq integer NOT NULL CHECK (seq > 0),
          hash text NOT NULL CHECK (hash ~ '^[0-9a-f]{64}$'), entry text NOT NULL,
          stored_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (task_id, seq))`);
      await client.query(`CREATE TABLE IF NOT EXISTS ${t}_heads (
          task_id text NOT NULL, seq integer NOT NULL, hash text NOT NULL, head text NOT NULL,
          stored_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (task_id, seq))`);
      await client.query(`CREATE OR REPLACE FUNCTION ${t}_append_only() RETURNS trigger AS $$
          BEGIN RAISE EXCEPTION 'the audit trail is append-only'; END $$ LANGUAGE plpgsql`);
      for (const suffix of ['entries', 'heads']) {
        await client.query(`DROP TRIGGER IF EXISTS ${t}_${suffix}_append_only ON ${t}_${suffix}`);
        await client.query(`CREATE TRIGGER ${t}_${suffix}_append_only BEFORE UPDATE OR DELETE ON ${t}_${suffix}
            FOR EACH ROW EXECUTE FUNCTION ${t}_append_only()`);
        // TRUNCATE fires no row trigger: it needs its own, or it empties the table in one statement
        await client.query(`DROP TRIGGER IF EXISTS ${t}_${suffix}_no_truncate ON ${t}_${suffix}`);
        await client.query(`CREATE TRIGGER ${t}_${suffix}_no_truncate BEFORE TRUNCATE ON ${t}_${suffix}
            FOR EACH STATEMENT EXECUTE FUNCTION ${t}_append_only()`);
      }
    }).catch((err) => {
      this.ready = undefined; // the database may come back: try again next time
      throw err;
    });
    return this.ready;
  }

  async append(taskId: string, entries: AuditEntry[]): Promise<void> {
    if (entries.length === 0) return;
    await this.ensureTables();
    await this.transaction(async (client) => {
      // serialises appends to one task, so the "last stored" check below holds until commit
      await client.query(`SELECT pg_advisory_xact_lock(hashtext($1))`, [`${this.table}:${taskId}`]);
      const { rows } = await client.query<{ entry: string }>(
        `SELECT entry FROM ${this.table}_entries WHERE task_id = $1 ORDER BY seq DESC LIMIT 1`,
        [taskId],
      );
      const last = rows[0] ? (JSON.parse(rows[0].entry) as AuditEntry) : undefined;
      // a retried batch reaching back before the last entry: compare it with what is stored
      const older = seqsBefore(last, entries);
      const storedHashes = new Map<number, string>();
      if (older.length) {
        const stored = await client.query<{ seq: number; hash: string }>(
          `SELECT seq, hash FROM ${this.table}_entries WHERE task_id = $1 AND seq = ANY($2::int[])`,
          [taskId, older],
        );
        for (const row of stored.rows) storedHashes.set(row.seq, row.hash);
      }
      const fresh = newEntriesAfter(last, entries, storedHashes);
      if (fresh.length) {
        await client.query(
          `INSERT INTO ${this.table}_entries (task_id, seq, hash, entry)
           SELECT $1, * FROM unnest($2::int[], $3::text[], $4::text[])`,
          [taskId, fresh.map((e) => e.seq), fresh.map((e) => e.hash), fresh.map((e) => JSON.stringify(e))],
        );
      }
    });
  }

  /** Runs `work` in one transaction on one pooled connection: committed, or rolled back if it throws. */
  private async transaction(work: (client: PoolClient) => Promise<void>): Promise<void> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      await work(client);
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }

  async putHead(head: SignedHead): Promise<void> {
    await this.ensureTables();
    await this.pool.query(
      `INSERT INTO ${this.table}_heads (task_id, seq, hash, head) VALUES ($1, $2, $3, $4)
       ON CONFLICT (task_id, seq) DO NOTHING`,
      [head.taskId, head.seq, head.hash, JSON.stringify(head)],
    );
  }

  async read(taskId: string): Promise<{ entries: AuditEntry[]; heads: SignedHead[] }> {
    await this.ensureTables();
    const [entries, heads] = await Promise.all([
      this.pool.query<{ entry: string }>(
        `SELECT entry FROM ${this.table}_entries WHERE task_id = $1 ORDER BY seq`,
        [taskId],
      ),
      this.pool.query<{ head: string }>(
        `SELECT head FROM ${this.table}_heads WHERE task_id = $1 ORDER BY stored_at, seq`,
        [taskId],
      ),
    ]);
    return {
      entries: entries.rows.map((r) => JSON.parse(r.entry) as AuditEntry),
      heads: heads.rows.map((r) => JSON.parse(r.head) as SignedHead),
    };
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
