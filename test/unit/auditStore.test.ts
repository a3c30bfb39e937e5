import { appendFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AuditStoreConflict,
  FileAuditStore,
  newEntriesAfter,
  taskFileName,
} from '../../src/stores/auditStore';
import { chain } from '../support/auditChain';

describe('FileAuditStore: append-only, idempotent by seq', () => {
  const dir = mkdtempSync(join(tmpdir(), 'audit-store-'));
  const store = new FileAuditStore(dir);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test('the same batch twice is stored once; a later batch that overlaps stores only what is new', async () => {
    const entries = chain('twice', 5);
    await store.append('twice', entries.slice(0, 3));
    await store.append('twice', entries.slice(0, 3));
    await store.append('twice', entries.slice(1, 5));
    expect((await store.read('twice')).entries).toEqual(entries);
  });

  test('a batch contradicting a stored entry is refused, at the last stored entry or before it', async () => {
    const entries = chain('fork', 5);
    const other = chain('fork', 5, 'another');
    await store.append('fork', entries);
    await expect(store.append('fork', other.slice(3, 5))).rejects.toThrow(
      new AuditStoreConflict(
        'entry 4 of task fork is stored with another hash: the store refuses a second version',
      ),
    );
    // a retried batch that ends before the stored tail is compared too, not silently dropped
    await expect(store.append('fork', other.slice(0, 3))).rejects.toThrow(
      /entry 1 of task fork is stored with another hash/,
    );
    await expect(store.append('fork', [entries[0]!, other[1]!])).rejects.toThrow(
      /entry 2 of task fork is stored with another hash/,
    );
    expect((await store.read('fork')).entries).toEqual(entries);
  });

  test('a batch with a gap, a repeat or a broken link is refused whole', async () => {
    const entries = chain('gaps', 6);
    await store.append('gaps', entries.slice(0, 2));
    await expect(store.append('gaps', entries.slice(3, 5))).rejects.toThrow(
      'entries after 2 are missing: got 4 next',
    );
    await expect(store.append('gaps', [entries[2]!, entries[4]!])).rejects.toThrow(
      'the batch skips or repeats entries: entry 4 expected, got 5',
    );
    await expect(store.append('gaps', [entries[2]!, entries[2]!])).rejects.toThrow(
      'the batch skips or repeats entries: entry 4 expected, got 3',
    );
    const forked = chain('gaps', 6, 'another');
    await expect(store.append('gaps', [entries[2]!, forked[3]!])).rejects.toThrow(
      'entry 4 does not follow the entry 3',
    );
    await expect(store.append('gaps', forked.slice(2, 4))).rejects.toThrow(
      'entry 3 does not follow the stored entry 2',
    );
    expect((await store.read('gaps')).entries).toEqual(entries.slice(0, 2));
    await store.append('gaps', entries.slice(2));
    expect((await store.read('gaps')).entries).toEqual(entries);
  });

  test('a line torn by a crash is cut off before the next append; heads are kept in order, a retried head once', async () => {
    const entries = chain('torn', 3);
    await store.append('torn', entries.slice(0, 2));
    appendFileSync(join(dir, `${taskFileName('torn')}.jsonl`), JSON.stringify(entries[2]).slice(0, 40));
    expect((await store.read('torn')).entries).toEqual(entries.slice(0, 2));
    await store.append('torn', entries.slice(1));
    expect((await store.read('torn')).entries).toEqual(entries);
    expect(readFileSync(join(dir, 'torn.jsonl'), 'utf8').split('\n')).toHaveLength(4);

    const head = (seq: number) => ({
      type: 'head' as const,
      taskId: 'torn',
      seq,
      hash: entries[seq - 1]!.hash,
      signedAt: '2026-11-27T10:00:00.000Z',
      reason: `r${seq}`,
      keyId: 'k',
      publicKey: '0'.repeat(64),
      publicKeyPem: '',
      fingerprint: 'f',
      signature: 's',
    });
    await store.putHead(head(2));
    await store.putHead(head(2));
    await store.putHead(head(3));
    expect((await store.read('torn')).heads.map((h) => h.seq)).toEqual([2, 3]);
  });

  test('newEntriesAfter alone: nothing stored takes a chain from 1; an empty batch is nothing new', () => {
    const entries = chain('pure', 3);
    expect(newEntriesAfter(undefined, entries)).toEqual(entries);
    expect(newEntriesAfter(entries[2], [])).toEqual([]);
    expect(() => newEntriesAfter(undefined, entries.slice(1))).toThrow(
      'entries after 0 are missing: got 2 next',
    );
    expect(() =>
      newEntriesAfter(entries[2], chain('pure', 2, 'x'), new Map([[1, entries[0]!.hash]])),
    ).toThrow(/entry 1 of task pure is stored with another hash/);
  });
});
