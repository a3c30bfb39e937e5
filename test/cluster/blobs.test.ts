import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Pool } from 'pg';
import { blobsUrl } from '../../src/runtime/cluster';
import type { StewardClient } from '../../src/runtime/client';
import { BlobStore } from '../../src/stores/blobStore';
import { PostgresBlobBackend } from '../../src/stores/postgresBlobStore';
import { failureOf } from '../support/failures';
import { cluster, clusterClient, processesThatRan, resultOf, taskId, until } from './support/clusterTest';

let client: StewardClient;
let store: BlobStore;

beforeAll(async () => {
  client = await clusterClient();
  store = new BlobStore(new PostgresBlobBackend(blobsUrl(cluster().state)));
});

afterAll(async () => {
  await client?.close();
  await store?.close();
});

const sha = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');

describe('the PostgreSQL blob store', () => {
  test('round trip, named by the sha256 of the bytes; equal content stored once', async () => {
    const bytes = randomBytes(200_000);
    const [a, b] = await Promise.all([store.put(bytes), store.put(bytes)]);
    expect(a).toBe(sha(bytes));
    expect(b).toBe(a);
    expect(await store.get(a)).toEqual(bytes);
  });

  test('a missing blob is BlobMissing, non-retryable, naming the hash and the store (not its password)', async () => {
    const hash = sha(randomBytes(8));
    const err = await failureOf(store.get(hash));
    expect(err.type).toBe('BlobMissing');
    expect(err.nonRetryable).toBe(true);
    expect(err.message).toContain(hash);
    expect(err.message).toMatch(/PostgreSQL 127\.0\.0\.1:\d+\/steward_blobs/);
    expect(err.message).not.toContain(cluster().state.postgres.password);
  });

  test('a changed row is found out on read', async () => {
    const hash = await store.put(Buffer.from('original'));
    const pool = new Pool({ connectionString: blobsUrl(cluster().state) });
    try {
      await pool.query('UPDATE steward_blobs SET bytes = $2 WHERE hash = $1', [
        hash,
        Buffer.from('tampered'),
      ]);
    } finally {
      await pool.end();
    }
    const err = await failureOf(store.get(hash));
    expect(err.type).toBe('BlobMissing');
    expect(err.message).toMatch(/corrupt/);
  });

  test('two stores make their table at the same moment', async () => {
    const table = `race_${randomBytes(4).toString('hex')}`;
    const stores = Array.from(
      { length: 4 },
      () => new BlobStore(new PostgresBlobBackend(blobsUrl(cluster().state), { table })),
    );
    try {
      const hashes = await Promise.all(stores.map((s, i) => s.put(Buffer.from(`blob ${i}`))));
      expect(await stores[0]!.get(hashes[3]!)).toEqual(Buffer.from('blob 3'));
    } finally {
      await Promise.all(stores.map((s) => s.close()));
    }
  });
});

describe('claim checks across worker processes that share no directory', () => {
  test('large inputs and outputs travel through PostgreSQL between the client and both workers', async () => {
    const text = 'lorem ipsum '.repeat(8000); // 96 KB: over the 64 KiB threshold, a claim check
    const ids = Array.from({ length: 6 }, () => taskId('blobs'));
    await Promise.all(
      ids.map((id) =>
        client.start({ agent: 'cluster-blobs', input: { text }, principal: 'tester', taskId: id }),
      ),
    );
    const ran = new Set<string>();
    for (const id of ids) {
      const result = await resultOf(client, id);
      expect(result).toMatchObject({ status: 'completed', stopReason: 'completed' });
      // the result itself is a claim check the client reads from the shared store
      const output = (await store.resolve(result.result)) as { chars: number; long: string };
      expect(output.chars).toBe(text.length * 2);
      expect(output.long).toBe(text.repeat(2));
      for (const name of await processesThatRan(client, id)) ran.add(name);
    }
    expect(ran).toEqual(new Set(cluster().workers));
    // no process keeps blobs of its own
    for (const spec of cluster().state.specs) expect(existsSync(join(spec.dataDir, 'blobs'))).toBe(false);
  });

  test('a step whose claim check has gone from the store stops the task, naming the hash', async () => {
    const text = `${randomBytes(8).toString('hex')} `.repeat(5000); // 85 KB: a claim check
    const hash = sha(Buffer.from(JSON.stringify(text)));
    const id = taskId('blob-gone');
    await client.start({
      agent: 'cluster-blobs-wait',
      input: { text, holdMs: 3000 },
      principal: 'tester',
      taskId: id,
    });
    // the worker has read the input (it checks it when the task starts); now the blob goes
    // (the state query is not there until the worker has resolved the task: ask again)
    await until('the wait step', async () =>
      ((await client.state(id).catch(() => undefined))?.step ?? 0) >= 1 ? true : undefined,
    );
    const pool = new Pool({ connectionString: blobsUrl(cluster().state) });
    try {
      expect((await pool.query('DELETE FROM steward_blobs WHERE hash = $1', [hash])).rowCount).toBe(1);
    } finally {
      await pool.end();
    }
    const result = await resultOf(client, id);
    expect(result).toMatchObject({ status: 'stopped', stopReason: 'tool_failure' });
    expect(result.detail).toContain(`blob ${hash} is not in PostgreSQL`);
    // non-retryable: the step failed once, it was not retried for minutes
    const failed = (await client.audit(id)).filter((e) => e.kind === 'step.failed');
    expect(failed).toHaveLength(1);
  });

  test('a start whose input claim check is not in the store ends at once, naming the hash', async () => {
    const missing = sha(randomBytes(8));
    const id = taskId('blob-missing');
    await client.start({
      agent: 'cluster-blobs',
      input: { text: { $blob: missing, bytes: 100_000, preview: 'lorem' } },
      principal: 'tester',
      taskId: id,
    });
    // The worker resolves the request in a local activity; its BlobMissing (non-retryable) ends the
    // run as failed today, with the hash in the failure, rather than as a task stopped with a reason.
    const ended = await resultOf(client, id).then(
      (result) => `${result.status}: ${result.detail}`,
      (err: Error) => `failed: ${(err.cause as Error | undefined)?.message ?? err.message}`,
    );
    expect(ended).toMatch(new RegExp(`^(stopped|failed): .*blob ${missing} is not in PostgreSQL`));
  });
});
