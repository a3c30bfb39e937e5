import { AUDIT_SCHEMA, GENESIS, verifyAudit, type AuditEntry } from './chain';
import { checkHeadSignature, signsReason, type SignedHead } from './head';
import { keyFingerprint } from './signing';

/** A public key whose signed heads are accepted. */
export interface AuditKey {
  id: string;
  publicKey: string;
}

export interface TrailVerdict {
  ok: boolean;
  taskId: string;
  entries: number;
  /**
   * The last signed head that checked out, and whose key signed it. `reasonSigned` is false for an
   * `audit-head/v1` head: its reason and time are stored beside the signature, not under it.
   */
  signed?: {
    seq: number;
    keyId: string;
    fingerprint: string;
    reason: string;
    signedAt: string;
    reasonSigned: boolean;
  };
  /** The trail ends with the task's end (task.completed / task.stopped). */
  complete: boolean;
  /** The first thing wrong: the entry (seq) or head, and why. */
  firstBad?: { seq: number; reason: string };
  /** What is worth knowing but is not wrong (a running task's unsigned tail). */
  notes: string[];
}

const END_KINDS = new Set(['task.completed', 'task.stopped', 'task.refused']);

/**
 * Checks a task's trail: every hash and link, that every entry names this task, that each signed head
 * is signed by a trusted key over the entry it names, and that the last head covers the whole trail.
 * `partial` accepts a trail that does not end yet (a running task); otherwise a trail that stops
 * before the task's end is refused, so dropping the last entries (and their head) is caught.
 */
export function verifyTrail(input: {
  taskId: string;
  entries: AuditEntry[];
  heads: SignedHead[];
  trusted: AuditKey[];
  partial?: boolean;
  /** A faster sha256 for verifiers outside workflow code (node:crypto's; the same digests). */
  sha256Hex?: (text: string) => string;
}): TrailVerdict {
  const { taskId, entries, heads, trusted } = input;
  const notes: string[] = [];
  const last = entries.at(-1);
  const complete = !!last && END_KINDS.has(last.kind);
  const verdict = (
    firstBad?: { seq: number; reason: string },
    signed?: TrailVerdict['signed'],
  ): TrailVerdict => ({
    ok: !firstBad,
    taskId,
    entries: entries.length,
    ...(signed ? { signed } : {}),
    complete,
    ...(firstBad ? { firstBad } : {}),
    notes,
  });

  const chain = verifyAudit(entries, GENESIS, { sha256Hex: input.sha256Hex });
  if (!chain.ok) return verdict({ seq: chain.seq, reason: chain.reason });
  const foreign = entries.find((e) => e.v === AUDIT_SCHEMA && e.taskId !== taskId);
  if (foreign)
    return verdict({
      seq: foreign.seq,
      reason: `the entry belongs to task ${foreign.taskId}, not ${taskId}`,
    });
  if (entries.length === 0) return verdict({ seq: 0, reason: 'the trail has no entries' });

  let signed: TrailVerdict['signed'];
  for (const head of heads) {
    const where = { seq: head.seq, reason: '' };
    if (head.taskId !== taskId)
      return verdict({ ...where, reason: `a signed head is for task ${head.taskId}` });
    const entry = entries[head.seq - 1];
    if (!entry)
      return verdict(
        {
          seq: head.seq,
          reason: `the head signed at entry ${head.seq} is past the trail's end (${entries.length} entries): entries were dropped`,
        },
        signed,
      );
    if (entry.hash !== head.hash)
      return verdict({ seq: head.seq, reason: 'the signed head does not match this entry’s hash' }, signed);
    const key = trusted.find((k) => k.publicKey === head.publicKey);
    if (!key)
      return verdict(
        {
          seq: head.seq,
          reason: `the head is signed by key ${keyFingerprint(head.publicKey)}, which is not trusted (trust it with --key or signing.auditKeys)`,
        },
        signed,
      );
    const bad = checkHeadSignature(head, key.publicKey);
    if (bad) return verdict({ seq: head.seq, reason: `the head's signature: ${bad}` }, signed);
    if (!signed || head.seq >= signed.seq)
      signed = {
        seq: head.seq,
        keyId: head.keyId,
        fingerprint: keyFingerprint(key.publicKey),
        reason: head.reason,
        signedAt: head.signedAt,
        reasonSigned: signsReason(head),
      };
  }
  if (!signed) return verdict({ seq: last!.seq, reason: 'no signed head covers the trail' });
  if (signed.seq < last!.seq) {
    const tail = `entries ${signed.seq + 1}–${last!.seq} come after the last signed head`;
    if (!input.partial)
      return verdict(
        {
          seq: signed.seq + 1,
          reason: complete ? `${tail}: they are not signed` : `${tail}, and the task has not ended`,
        },
        signed,
      );
    notes.push(`${tail} (the task is still running)`);
  }
  if (!complete && !input.partial)
    return verdict(
      {
        seq: last!.seq,
        reason: 'the trail ends before the task did (its last entries may have been dropped)',
      },
      signed,
    );
  return verdict(undefined, signed);
}
