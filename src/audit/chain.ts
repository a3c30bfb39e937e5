import { canonicalJson } from './canonicalJson';
import { sha256Hex } from './sha256';

/** What happened, in the order it happened; `at` is workflow time (ISO), so replay reproduces it. */
export interface AuditEvent {
  kind: string;
  at: string;
  step: number;
  data: Record<string, unknown>;
}

export interface AuditEntry extends AuditEvent {
  seq: number;
  prevHash: string;
  hash: string;
}

export const GENESIS_HASH = '0'.repeat(64);

export function hashEntry(prevHash: string, event: AuditEvent & { seq: number }): string {
  const { kind, at, step, data, seq } = event;
  return sha256Hex(prevHash + canonicalJson({ seq, kind, at, step, data }));
}

/** Appends one event to the chain: hash = sha256(prevHash + canonicalJSON(entry)). */
export function appendAudit(chainHead: { seq: number; hash: string }, event: AuditEvent): AuditEntry {
  const seq = chainHead.seq + 1;
  const prevHash = chainHead.hash;
  return { seq, ...event, prevHash, hash: hashEntry(prevHash, { ...event, seq }) };
}

export type ChainCheck = { ok: true; head: string } | { ok: false; seq: number; reason: string };

/** Verifies that entries link up and that no entry was changed since it was hashed. */
export function verifyAudit(entries: AuditEntry[], start = { seq: 0, hash: GENESIS_HASH }): ChainCheck {
  let head = start;
  for (const entry of entries) {
    if (entry.seq !== head.seq + 1)
      return { ok: false, seq: entry.seq, reason: `expected seq ${head.seq + 1}` };
    if (entry.prevHash !== head.hash) return { ok: false, seq: entry.seq, reason: 'prevHash does not match' };
    if (hashEntry(entry.prevHash, entry) !== entry.hash)
      return { ok: false, seq: entry.seq, reason: 'hash does not match' };
    head = { seq: entry.seq, hash: entry.hash };
  }
  return { ok: true, head: head.hash };
}
