import { ed25519 } from '@noble/curves/ed25519';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { signHead } from '../../src/audit/head';
import { publicKeyOf } from '../../src/audit/signing';
import { verifyTrail } from '../../src/audit/verify';
import { FileAuditStore, legacyTaskFileName, taskFileName } from '../../src/stores/auditStore';
import { chain } from '../support/auditChain';

const privateKey = ed25519.utils.randomPrivateKey();
const key = { keyId: 'k', publicKey: publicKeyOf(privateKey), privateKey };

/** Writes a task's trail as a worker does: its entries, then its signed head. */
async function write(store: FileAuditStore, taskId: string, n: number): Promise<void> {
  const entries = chain(taskId, n);
  await store.append(taskId, entries);
  await store.putHead(signHead(key, taskId, entries.at(-1)!, 'end', '2026-12-08T03:00:00.000Z'));
}

async function verified(store: FileAuditStore, taskId: string, n: number): Promise<boolean> {
  const { entries, heads } = await store.read(taskId);
  expect(entries).toHaveLength(n);
  expect(heads.map((h) => h.taskId)).toEqual([taskId]);
  const trusted = [{ id: key.keyId, publicKey: key.publicKey }];
  const verdict = verifyTrail({ taskId, entries, heads, trusted, partial: true });
  return verdict.ok && verdict.signed?.seq === n;
}

describe('FileAuditStore: one task, one pair of files', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'audit-names-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  test.each([
    ['V first, then V.heads', ['V', 'V.heads']],
    ['V.heads first, then V', ['V.heads', 'V']],
    ['v first, then V (names differing in case only)', ['v', 'V']],
    ['a plain id that looks like a digest name', ['x', `x.${'0'.repeat(64)}`]],
  ])('%s: each trail reads back whole and verifies', async (_, ids) => {
    const store = new FileAuditStore(dir);
    for (const [i, id] of ids.entries()) await write(store, id, 3 + i);
    for (const [i, id] of ids.entries()) expect(await verified(store, id, 3 + i)).toBe(true);
    expect(readdirSync(dir)).toHaveLength(2 * ids.length);
  });

  test('file names are one to one over task ids, case-insensitively, and never end as another’s heads file', () => {
    const ids = fc.string({
      unit: fc.constantFrom('a', 'A', 'b', '.', 'h', 'e', 'a', 'd', 's', '-', ':', '/', 'é'),
      maxLength: 12,
    });
    fc.assert(
      fc.property(ids, ids, (a, b) => {
        fc.pre(a !== b && a.length > 0 && b.length > 0);
        const files = (id: string) => [`${taskFileName(id)}.jsonl`, `${taskFileName(id)}.heads.jsonl`];
        const lower = (names: string[]) => names.map((n) => n.toLowerCase());
        for (const name of lower(files(a))) expect(lower(files(b))).not.toContain(name);
      }),
      { numRuns: 2000 },
    );
    expect(taskFileName('V.heads')).not.toBe('V.heads');
    expect(taskFileName('notes-1')).toBe('notes-1');
  });

  test('a trail written in the layout before 0.2 is still read, and appended to where it is', async () => {
    const store = new FileAuditStore(dir);
    const entries = chain('Task:One', 4);
    const head = signHead(key, 'Task:One', entries[2]!, 'wait', '2026-12-08T03:00:00.000Z');
    // as the old store wrote it: the id itself as the file name
    writeFileSync(
      join(dir, 'Task:One.jsonl'),
      entries
        .slice(0, 3)
        .map((e) => `${JSON.stringify(e)}\n`)
        .join(''),
    );
    writeFileSync(join(dir, 'Task:One.heads.jsonl'), `${JSON.stringify(head)}\n`);
    expect(legacyTaskFileName('Task:One')).toBe('Task:One');
    await store.append('Task:One', entries);
    await store.putHead(signHead(key, 'Task:One', entries[3]!, 'end', '2026-12-08T03:00:01.000Z'));
    const read = await store.read('Task:One');
    expect(read.entries).toEqual(entries);
    expect(read.heads.map((h) => h.seq)).toEqual([3, 4]);
    expect(readdirSync(dir).sort()).toEqual(['Task:One.heads.jsonl', 'Task:One.jsonl']);
  });

  test('the old layout is never read where its name was another task’s file', async () => {
    const store = new FileAuditStore(dir);
    // an old store's task V, whose heads file a task V.heads would have written into
    const entries = chain('V', 2);
    writeFileSync(join(dir, 'V.jsonl'), entries.map((e) => `${JSON.stringify(e)}\n`).join(''));
    writeFileSync(
      join(dir, 'V.heads.jsonl'),
      `${JSON.stringify(signHead(key, 'V', entries[1]!, 'end', 't'))}\n`,
    );
    expect(legacyTaskFileName('V.heads')).toBeUndefined();
    expect(await store.read('V.heads')).toEqual({ entries: [], heads: [] });
    await write(store, 'V.heads', 2);
    expect(await verified(store, 'V', 2)).toBe(true);
    expect(await verified(store, 'V.heads', 2)).toBe(true);
  });
});
