import { ed25519 } from '@noble/curves/ed25519';
import { appendAudit, GENESIS, type AuditEntry } from '../../src/audit/chain';
import { headMessage, HEAD_V1, HEAD_V2, publicKeyPem, signHead, type SignedHead } from '../../src/audit/head';
import { keyFingerprint, publicKeyOf } from '../../src/audit/signing';
import { verifyTrail } from '../../src/audit/verify';

/**
 * A head's reason and signing time are signed (audit-head/v2), so an edited reason no longer verifies;
 * heads written before (audit-head/v1, which signed only task, seq and hash) still verify, with their
 * reason reported as unsigned.
 */

const privateKey = ed25519.utils.randomPrivateKey();
const key = { keyId: 'install-test', publicKey: publicKeyOf(privateKey), privateKey };
const trusted = [{ id: key.keyId, publicKey: key.publicKey }];
const TASK = 'task-"quoted"\\and-slashed';

function entries(): AuditEntry[] {
  const started = appendAudit(GENESIS, TASK, {
    kind: 'task.started',
    at: '2026-01-01T00:00:00.000Z',
    step: 0,
    data: {},
  });
  const done = appendAudit(started, TASK, {
    kind: 'task.completed',
    at: '2026-01-01T00:00:01.000Z',
    step: 1,
    data: { reason: 'completed' },
  });
  return [started, done];
}

/** A head as Steward signed them before v2: the signature over `{hash, seq, steward: v1, taskId}` only. */
function v1Head(entry: AuditEntry, reason: string, signedAt: string): SignedHead {
  const message = headMessage(TASK, { seq: entry.seq, hash: entry.hash });
  expect(message).toBe(
    `{"hash":"${entry.hash}","seq":2,"steward":"${HEAD_V1}","taskId":${JSON.stringify(TASK)}}`,
  );
  const signature = Buffer.from(ed25519.sign(new TextEncoder().encode(message), privateKey)).toString(
    'base64',
  );
  return {
    type: 'head',
    taskId: TASK,
    seq: entry.seq,
    hash: entry.hash,
    signedAt,
    reason,
    keyId: key.keyId,
    publicKey: key.publicKey,
    publicKeyPem: publicKeyPem(key.publicKey),
    fingerprint: keyFingerprint(key.publicKey),
    signature,
  };
}

const verify = (heads: SignedHead[]) => verifyTrail({ taskId: TASK, entries: entries(), heads, trusted });

test('a new head is audit-head/v2 and signs its reason and time, in canonical JSON', () => {
  const [, last] = entries();
  const head = signHead(key, TASK, last!, 'task completed', '2026-01-01T00:00:01.500Z');
  expect(head.steward).toBe(HEAD_V2);
  expect(headMessage(TASK, head)).toBe(
    `{"hash":"${last!.hash}","reason":"task completed","seq":2,"signedAt":"2026-01-01T00:00:01.500Z","steward":"${HEAD_V2}","taskId":"task-\\"quoted\\"\\\\and-slashed"}`,
  );
  expect(verify([head])).toMatchObject({
    ok: true,
    signed: { seq: 2, reason: 'task completed', signedAt: '2026-01-01T00:00:01.500Z', reasonSigned: true },
  });
});

test.each([
  ['reason', { reason: 'approval granted: approval-9' }],
  ['signedAt', { signedAt: '2030-01-01T00:00:00.000Z' }],
  ['steward (downgraded to v1, so the reason would go unsigned)', { steward: undefined }],
  ['steward (an unknown version)', { steward: 'audit-head/v9' }],
])('a v2 head with its %s edited does not verify', (_field, edit) => {
  const [, last] = entries();
  const head = {
    ...signHead(key, TASK, last!, 'task completed', '2026-01-01T00:00:01.500Z'),
    ...edit,
  } as SignedHead;
  const verdict = verify([head]);
  expect(verdict.ok).toBe(false);
  expect(verdict.firstBad).toEqual({ seq: 2, reason: expect.stringMatching(/^the head's signature: /) });
});

test('a v1 head still verifies, and says its reason and time are not signed', () => {
  const [, last] = entries();
  const edited = v1Head(last!, 'an edited reason', '1999-01-01T00:00:00.000Z');
  expect(verify([edited])).toMatchObject({
    ok: true,
    signed: { seq: 2, reason: 'an edited reason', signedAt: '1999-01-01T00:00:00.000Z', reasonSigned: false },
  });
});
