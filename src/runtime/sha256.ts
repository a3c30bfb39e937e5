import * as crypto from 'node:crypto';

/** One-shot `crypto.hash` (Node ≥ 20.12) skips the Hash object a `createHash` builds per call. */
const oneShot = typeof crypto.hash === 'function' ? crypto.hash : undefined;

/**
 * sha256 of a text's UTF-8 bytes, in lowercase hex, with node:crypto: the same digest as
 * `sha256Hex` (src/audit/sha256.ts, @noble/hashes, which workflow code must use), several times
 * faster. For verifiers outside workflow code: `verifyAudit(entries, start, { sha256Hex: nodeSha256Hex })`.
 * Node writes a lone surrogate as U+FFFD, as TextEncoder does (test/unit/auditNodeSha.test.ts checks
 * that both agree).
 */
export function nodeSha256Hex(text: string): string {
  return oneShot
    ? oneShot('sha256', text, 'hex')
    : crypto.createHash('sha256').update(text, 'utf8').digest('hex');
}
