import fc from 'fast-check';
import {
  appendAudit,
  GENESIS,
  hashEntry,
  verifyAudit,
  type AuditEntry,
  type ChainHead,
} from '../../src/audit/chain';
import { sha256Hex } from '../../src/audit/sha256';
import { nodeSha256Hex } from '../../src/runtime/sha256';

/** Verifiers outside workflow code may hash with node:crypto: it must give the very same hashes. */
describe('nodeSha256Hex is sha256Hex, faster', () => {
  const anyString = fc.string({
    unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)),
  });

  test('on any text (lone surrogates, every plane, block edges)', () => {
    fc.assert(
      fc.property(
        fc.oneof(anyString, fc.string({ unit: 'binary' }), fc.string({ maxLength: 200 })),
        (text) => {
          expect(nodeSha256Hex(text)).toBe(sha256Hex(text));
        },
      ),
      { numRuns: 2000 },
    );
    for (let n = 0; n <= 130; n++) expect(nodeSha256Hex('é'.repeat(n))).toBe(sha256Hex('é'.repeat(n)));
  });

  function chain(values: unknown[]): AuditEntry[] {
    let head: ChainHead = GENESIS;
    return values.map((value, i) => {
      const entry = appendAudit(head, 'task-1', {
        kind: i % 2 ? 'tool.completed' : 'model.called',
        at: new Date(Date.UTC(2026, 0, 1) + i).toISOString(),
        step: i,
        data: { value },
        outcome: { ok: true, resultDigest: sha256Hex(String(i)) },
      });
      head = { seq: entry.seq, hash: entry.hash };
      return entry;
    });
  }

  test('hashEntry and verifyAudit agree with either hash, on schema-1 and older entries', () => {
    fc.assert(
      fc.property(fc.array(fc.jsonValue(), { minLength: 1, maxLength: 20 }), (values) => {
        const entries = chain(values);
        for (const entry of entries) expect(hashEntry(entry, nodeSha256Hex)).toBe(entry.hash);
        expect(verifyAudit(entries, GENESIS, { sha256Hex: nodeSha256Hex })).toEqual(verifyAudit(entries));
        const older = { seq: 1, kind: 'k', at: 'a', step: 0, data: { values }, prevHash: GENESIS.hash };
        expect(hashEntry(older, nodeSha256Hex)).toBe(hashEntry(older));
      }),
      { numRuns: 200 },
    );
  });

  test('a tampered chain fails at the same entry for the same reason', () => {
    const entries = chain(Array.from({ length: 30 }, (_, i) => ({ i, text: `entry ${i} ✓ \ud800` })));
    const tampered = entries.map((e) => ({ ...e }));
    tampered[17] = { ...tampered[17]!, data: { value: 'changed' } };
    const check = verifyAudit(tampered, GENESIS, { sha256Hex: nodeSha256Hex });
    expect(check).toEqual({ ok: false, seq: 18, reason: 'hash does not match its content' });
    expect(check).toEqual(verifyAudit(tampered));
  });
});
