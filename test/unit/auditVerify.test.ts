import { ed25519 } from '@noble/curves/ed25519';
import { appendAudit, GENESIS, type AuditEntry, type AuditEvent } from '../../src/audit/chain';
import { publicKeyFromPem, signHead, type SignedHead } from '../../src/audit/head';
import { keyFingerprint, publicKeyOf } from '../../src/audit/signing';
import { verifyTrail } from '../../src/audit/verify';
import { exportTrail } from '../../src/runtime/auditTrail';

function newKey(name: string) {
  const privateKey = ed25519.utils.randomPrivateKey();
  const publicKey = publicKeyOf(privateKey);
  return { keyId: `${name}-${keyFingerprint(publicKey)}`, publicKey, privateKey };
}

const install = newKey('install');
const trusted = [{ id: install.keyId, publicKey: install.publicKey }];
const TASK = 'task-verify-1';

const events: AuditEvent[] = [
  {
    kind: 'task.started',
    at: '2026-01-01T00:00:00.000Z',
    step: 0,
    actor: { agent: 'a', principal: 'bob' },
    data: {},
  },
  {
    kind: 'model.called',
    at: '2026-01-01T00:00:01.000Z',
    step: 1,
    action: { type: 'model', activity: 'callModel' },
    cost: { usd: 0.0001, basis: 'billed' },
    data: { route: 'primary' },
  },
  {
    kind: 'policy.decided',
    at: '2026-01-01T00:00:01.000Z',
    step: 1,
    decision: { effect: 'approve', ruleIds: ['notes-need-review'] },
    data: {},
  },
  {
    kind: 'approval.decided',
    at: '2026-01-01T00:00:02.000Z',
    step: 1,
    actor: { approver: 'alice' },
    data: {},
  },
  {
    kind: 'tool.completed',
    at: '2026-01-01T00:00:03.000Z',
    step: 2,
    outcome: { ok: true, resultDigest: 'ab'.repeat(32) },
    data: {},
  },
  { kind: 'task.completed', at: '2026-01-01T00:00:04.000Z', step: 2, data: { reason: 'completed' } },
];

/** A finished task's trail: its entries, a head signed at the approval, and the final head. */
function trail(): { entries: AuditEntry[]; heads: SignedHead[] } {
  const entries: AuditEntry[] = [];
  let head = GENESIS;
  for (const event of events) {
    const entry = appendAudit(head, TASK, event);
    entries.push(entry);
    head = { seq: entry.seq, hash: entry.hash };
  }
  const at = (seq: number) => ({ seq, hash: entries[seq - 1]!.hash });
  const heads = [
    signHead(install, TASK, at(4), 'approval granted: approval-1', '2026-01-01T00:00:02.500Z'),
    signHead(install, TASK, at(6), 'task completed', '2026-01-01T00:00:04.500Z'),
  ];
  return { entries, heads };
}

const clone = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;
const verify = (t: { entries: AuditEntry[]; heads: SignedHead[] }, partial = false) =>
  verifyTrail({ taskId: TASK, ...t, trusted, partial });

describe('verifying a trail', () => {
  test('an untouched trail verifies: complete, signed at its last entry by the trusted key', () => {
    expect(verify(trail())).toEqual({
      ok: true,
      taskId: TASK,
      entries: 6,
      signed: {
        seq: 6,
        keyId: install.keyId,
        fingerprint: keyFingerprint(install.publicKey),
        reason: 'task completed',
        signedAt: '2026-01-01T00:00:04.500Z',
        reasonSigned: true,
      },
      complete: true,
      notes: [],
    });
  });

  test.each([0, 1, 2, 3, 4, 5])('a byte flipped in entry %i is caught at that entry', (index) => {
    const t = clone(trail());
    const text = JSON.stringify(t.entries[index]);
    // flip one character of the entry's `at` (a byte the hash covers, keeping it valid JSON)
    t.entries[index] = JSON.parse(text.replace('2026-01-01', '2026-01-02')) as AuditEntry;
    expect(verify(t)).toMatchObject({
      ok: false,
      firstBad: { seq: index + 1, reason: 'hash does not match its content' },
    });
  });

  test('a dropped entry is caught where the sequence breaks', () => {
    const t = clone(trail());
    t.entries.splice(2, 1);
    expect(verify(t)).toMatchObject({
      ok: false,
      firstBad: { seq: 4, reason: 'entry 3 is missing or out of place (found entry 4)' },
    });
  });

  test('two entries swapped are caught at the first of them', () => {
    const t = clone(trail());
    [t.entries[1], t.entries[2]] = [t.entries[2]!, t.entries[1]!];
    expect(verify(t)).toMatchObject({
      ok: false,
      firstBad: { seq: 3, reason: 'entry 2 is missing or out of place (found entry 3)' },
    });
  });

  test('the last entries dropped with their head are caught: the trail stops before the task did', () => {
    const t = clone(trail());
    t.entries.splice(4);
    t.heads.splice(1);
    expect(verify(t)).toMatchObject({
      ok: false,
      firstBad: { seq: 4, reason: expect.stringContaining('ends before the task did') },
    });
    // while a trail that keeps its last head but loses entries is caught at that head
    const u = clone(trail());
    u.entries.splice(4);
    expect(verify(u)).toMatchObject({
      ok: false,
      firstBad: { seq: 6, reason: expect.stringContaining('entries were dropped') },
    });
  });

  test('a replaced signature is caught', () => {
    const t = clone(trail());
    const other = clone(trail()).heads[0]!;
    t.heads[1]!.signature = other.signature;
    expect(verify(t)).toMatchObject({
      ok: false,
      firstBad: { seq: 6, reason: expect.stringContaining('signature does not match') },
    });
  });

  test('a head signed with another key is caught, whether it names that key or keeps the trusted one', () => {
    const mallory = newKey('mallory');
    const { entries, heads } = clone(trail());
    const forged = signHead(
      mallory,
      TASK,
      { seq: 6, hash: entries[5]!.hash },
      'task completed',
      heads[1]!.signedAt,
    );
    expect(verify({ entries, heads: [heads[0]!, forged] })).toMatchObject({
      ok: false,
      firstBad: { seq: 6, reason: expect.stringContaining('not trusted') },
    });
    const keptKey = {
      ...forged,
      publicKey: install.publicKey,
      publicKeyPem: heads[1]!.publicKeyPem,
      keyId: install.keyId,
    };
    expect(verify({ entries, heads: [heads[0]!, keptKey] })).toMatchObject({
      ok: false,
      firstBad: { seq: 6, reason: expect.stringContaining('signature does not match') },
    });
  });

  test('a rewritten tail with recomputed hashes is caught at the signed head it contradicts', () => {
    const t = clone(trail());
    let head = { seq: 4, hash: t.entries[3]!.hash };
    for (let i = 4; i < 6; i++) {
      const forged = appendAudit(head, TASK, { ...events[i]!, data: { forged: true } });
      t.entries[i] = forged;
      head = { seq: forged.seq, hash: forged.hash };
    }
    expect(verify(t)).toMatchObject({
      ok: false,
      firstBad: { seq: 6, reason: 'the signed head does not match this entry’s hash' },
    });
  });

  test('a running task: entries after the last signed head are a note with --partial, a failure without', () => {
    const t = clone(trail());
    t.entries.splice(5);
    t.heads.splice(1);
    expect(verify(t, true)).toMatchObject({
      ok: true,
      complete: false,
      notes: ['entries 5–5 come after the last signed head (the task is still running)'],
    });
    expect(verify(t).ok).toBe(false);
  });

  test('entries of another task and a trail with no signed head are refused', () => {
    expect(verifyTrail({ taskId: 'another', ...trail(), trusted })).toMatchObject({
      ok: false,
      firstBad: { seq: 1, reason: `the entry belongs to task ${TASK}, not another` },
    });
    expect(verify({ entries: trail().entries, heads: [] })).toMatchObject({
      ok: false,
      firstBad: { reason: 'no signed head covers the trail' },
    });
  });

  test('the export is the entries, then the last head; its PEM is the signing key', () => {
    const t = trail();
    const lines = exportTrail({ taskId: TASK, ...t })
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { seq: number; type?: string });
    expect(lines.map((l) => l.seq)).toEqual([1, 2, 3, 4, 5, 6, 6]);
    expect(lines.at(-1)!.type).toBe('head');
    expect(publicKeyFromPem(t.heads[1]!.publicKeyPem)).toBe(install.publicKey);
  });
});
