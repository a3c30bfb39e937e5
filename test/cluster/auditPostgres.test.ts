/**
 * The PostgreSQL audit store on the cluster's own PostgreSQL: idempotent appends, refused
 * contradictions, the append-only trigger, reads in order; and a real task run by the cluster's worker
 * processes (which write their trails there, each signing heads with its own install key) whose trail
 * verifies and matches its history.
 */
import { randomBytes } from 'node:crypto';
import { Pool } from 'pg';
import type { SignedHead } from '../../src/audit/head';
import { verifyTrail } from '../../src/audit/verify';
import { matchHistory } from '../../src/runtime/auditHistory';
import { blobsUrl } from '../../src/runtime/cluster';
import type { StewardClient } from '../../src/runtime/client';
import { taskHistories } from '../../src/runtime/replay';
import { AuditStoreConflict } from '../../src/stores/auditStore';
import { ensureInstallKey } from '../../src/stores/keys';
import { DEFAULT_AUDIT_TABLE, PostgresAuditStore } from '../../src/stores/postgresAuditStore';
import { chain } from '../support/auditChain';
import type { LedgerServer } from '../support/ledgerServer';
import { cluster, openClientAndLedger, resultOf, taskId } from './support/clusterTest';

let client: StewardClient;
let ledger: LedgerServer;
openClientAndLedger((opened) => ({ client, ledger } = opened));

const url = (): string => blobsUrl(cluster().state);
/** A table of this file's own, so the tests see only what they wrote. */
const table = `audit_test_${randomBytes(4).toString('hex')}`;
let store: PostgresAuditStore;
let pool: Pool;

beforeAll(() => {
  store = new PostgresAuditStore(url(), table);
  pool = new Pool({ connectionString: url() });
});
afterAll(async () => {
  await store?.close();
  await pool?.end();
});

const head = (taskId: string, seq: number, hash: string, reason: string): SignedHead => ({
  type: 'head',
  taskId,
  seq,
  hash,
  signedAt: new Date().toISOString(),
  reason,
  keyId: 'test',
  publicKey: '0'.repeat(64),
  publicKeyPem: '',
  fingerprint: 'test',
  signature: 'test',
});

describe('PostgresAuditStore', () => {
  test('appends are idempotent by seq: the same batch twice is stored once, an overlapping batch adds only what is new', async () => {
    const id = taskId('twice');
    const entries = chain(id, 6);
    await store.append(id, entries.slice(0, 3));
    await store.append(id, entries.slice(0, 3));
    // the same batch at the same moment from two workers: stored once as well
    await Promise.all([store.append(id, entries.slice(1, 6)), store.append(id, entries.slice(1, 6))]);
    expect((await store.read(id)).entries).toEqual(entries);
    const { rows } = await pool.query(`SELECT count(*)::int AS n FROM ${table}_entries WHERE task_id = $1`, [
      id,
    ]);
    expect(rows[0].n).toBe(6);
  });

  test('a batch contradicting a stored entry, or leaving a gap, is refused whole (AuditStoreConflict)', async () => {
    const id = taskId('fork');
    const entries = chain(id, 5);
    const other = chain(id, 5, 'another version');
    await store.append(id, entries.slice(0, 4));
    const conflict = async (batch: typeof entries): Promise<string> => {
      const err = await store.append(id, batch).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(AuditStoreConflict);
      return (err as Error).message;
    };
    const refusal = `is stored with another hash: the store refuses a second version`;
    expect(await conflict(other.slice(3, 5))).toBe(`entry 4 of task ${id} ${refusal}`);
    expect(await conflict(other.slice(0, 2))).toBe(`entry 1 of task ${id} ${refusal}`);
    expect(await conflict([entries[0]!, other[1]!, entries[2]!])).toBe(`entry 2 of task ${id} ${refusal}`);
    expect(await conflict([entries[3]!, other[4]!])).toBe('entry 5 does not follow the stored entry 4');
    expect(await conflict(chain(id, 7).slice(5))).toBe('entries after 4 are missing: got 6 next');
    expect((await store.read(id)).entries).toEqual(entries.slice(0, 4));
  });

  test('UPDATE, DELETE and TRUNCATE are refused by the trigger, on entries and heads alike', async () => {
    const id = taskId('frozen');
    const entries = chain(id, 2);
    await store.append(id, entries);
    await store.putHead(head(id, 2, entries[1]!.hash, 'task completed'));
    const statements = [
      [`UPDATE ${table}_entries SET entry = '{}' WHERE task_id = $1`, [id]],
      [`UPDATE ${table}_entries SET hash = $2 WHERE task_id = $1 AND seq = 1`, [id, '0'.repeat(64)]],
      [`DELETE FROM ${table}_entries WHERE task_id = $1 AND seq = 2`, [id]],
      [`UPDATE ${table}_heads SET head = '{}' WHERE task_id = $1`, [id]],
      [`DELETE FROM ${table}_heads WHERE task_id = $1`, [id]],
      [`TRUNCATE ${table}_entries`, []],
      [`TRUNCATE ${table}_heads`, []],
    ] as const;
    for (const [sql, params] of statements)
      await expect(pool.query(sql, [...params])).rejects.toThrow('the audit trail is append-only');
    const after = await store.read(id);
    expect(after.entries).toEqual(entries);
    expect(after.heads.map((h) => h.seq)).toEqual([2]);
  });

  test('read returns the entries in seq order and the heads in the order they were signed; a retried head is stored once', async () => {
    const id = taskId('ordered');
    const entries = chain(id, 9);
    // appended out of order of the seqs' text (2, 10 …) and in batches
    await store.append(id, entries.slice(0, 2));
    await store.putHead(head(id, 2, entries[1]!.hash, 'approval requested'));
    await store.append(id, entries.slice(2, 7));
    await store.putHead(head(id, 7, entries[6]!.hash, 'continued as run 2'));
    await store.putHead(head(id, 7, entries[6]!.hash, 'continued as run 2'));
    await store.append(id, entries.slice(7));
    await store.putHead(head(id, 9, entries[8]!.hash, 'task completed'));
    const read = await store.read(id);
    expect(read.entries).toEqual(entries);
    expect(read.heads.map((h) => [h.seq, h.reason])).toEqual([
      [2, 'approval requested'],
      [7, 'continued as run 2'],
      [9, 'task completed'],
    ]);
    expect(await store.read(taskId('unknown'))).toEqual({ entries: [], heads: [] });
  });
});

describe('a task on the cluster', () => {
  test('its workers write its trail to PostgreSQL as it runs, run after run; it verifies with their keys and matches its history', async () => {
    const id = taskId('audited');
    await client.start({
      agent: 'cluster-steps',
      input: { url: ledger.url, holdMs: 50 },
      principal: 'tester',
      taskId: id,
      narrow: { limits: { stepsPerRun: 1 } }, // a run per step: exported and signed at each continue-as-new
    });
    const result = await resultOf(client, id);
    expect(result).toMatchObject({ status: 'completed', result: 'charged 4 times' });
    expect(result.auditUnwritten).toBeUndefined();

    const { state } = cluster();
    const trusted = state.specs
      .filter((s) => s.name.startsWith('worker-'))
      .map((s) => {
        const key = ensureInstallKey(s.dataDir);
        return { id: key.keyId, publicKey: key.publicKey };
      });
    expect(trusted).toHaveLength(2);

    const workers = new PostgresAuditStore(url(), DEFAULT_AUDIT_TABLE);
    try {
      const { entries, heads } = await workers.read(id);
      expect(entries.map((e) => e.seq)).toEqual(Array.from({ length: result.auditEntries }, (_, i) => i + 1));
      expect(entries.at(-1)!.hash).toBe(result.auditHead);
      expect(heads.filter((h) => h.reason.startsWith('continued as run')).length).toBeGreaterThanOrEqual(3);
      expect(heads.at(-1)).toMatchObject({ seq: entries.length, reason: 'task completed' });
      expect(verifyTrail({ taskId: id, entries, heads, trusted })).toMatchObject({
        ok: true,
        complete: true,
        entries: entries.length,
      });
      const runs = await taskHistories(client.client, id);
      expect(runs.length).toBeGreaterThanOrEqual(4);
      const match = matchHistory(
        entries,
        runs.map((r) => r.history),
      );
      expect(match).toEqual({ ok: true, activities: expect.any(Number) });
      expect(entries.filter((e) => e.kind === 'tool.completed')).toHaveLength(4);
    } finally {
      await workers.close();
    }
  });
});
