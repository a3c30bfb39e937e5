import { ed25519 } from '@noble/curves/ed25519';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils';
import { canonicalJson } from './canonicalJson';
import { keyFingerprint } from './signing';
import type { ChainHead } from './chain';

/**
 * A signed chain head: the install's Ed25519 key signs `{taskId, seq, hash, reason, signedAt}`
 * (`audit-head/v2`), so whoever holds the public key can check that nobody changed, dropped or added
 * an entry up to `seq` since, nor changed why or when the head was signed. What is signed is the UTF-8
 * of `headMessage` (canonical JSON), verifiable with `openssl pkeyutl -verify -rawin` and the key in
 * `publicKeyPem` (docs/audit.md shows how). A head without `steward` is an `audit-head/v1` head, which
 * signed only `{taskId, seq, hash}`: it still verifies, and its reason and time are reported unsigned.
 */
export interface SignedHead extends ChainHead {
  type: 'head';
  /** `audit-head/v2`: reason and signedAt are signed. Absent: a v1 head, where they are not. */
  steward?: typeof HEAD_V2;
  taskId: string;
  /** When it was signed (wall clock of the signer). */
  signedAt: string;
  /** Why it was signed: an approval, a continue-as-new, the end of the task, or a batch. */
  reason: string;
  keyId: string;
  /** The raw 32-byte Ed25519 public key, hex; `publicKeyPem` is the same key as SPKI PEM. */
  publicKey: string;
  publicKeyPem: string;
  fingerprint: string;
  /** The Ed25519 signature of `headMessage`, base64. */
  signature: string;
}

export const HEAD_V1 = 'audit-head/v1';
export const HEAD_V2 = 'audit-head/v2';

/** Whether a head's reason and signing time are covered by its signature (v2) or only stored beside it (v1). */
export const signsReason = (head: Pick<SignedHead, 'steward'>): boolean => head.steward === HEAD_V2;

const encoder = new TextEncoder();

/**
 * The exact text that is signed: for a v2 head (`steward: audit-head/v2`) its task, position, reason
 * and time; for a v1 head (no `steward`) only its task and position.
 */
export function headMessage(
  taskId: string,
  head: ChainHead & Partial<Pick<SignedHead, 'steward' | 'reason' | 'signedAt'>>,
): string {
  if (head.steward === undefined)
    return canonicalJson({ steward: HEAD_V1, taskId, seq: head.seq, hash: head.hash });
  if (head.steward !== HEAD_V2) throw new TypeError(`unknown head format ${String(head.steward)}`);
  if (typeof head.reason !== 'string' || typeof head.signedAt !== 'string')
    throw new TypeError(`an ${HEAD_V2} head needs its reason and signedAt`);
  const { seq, hash, reason, signedAt } = head;
  return canonicalJson({ steward: HEAD_V2, taskId, seq, hash, reason, signedAt });
}

/** SPKI DER of an Ed25519 key is this fixed 12-byte prefix followed by the 32 raw bytes (RFC 8410). */
const SPKI_ED25519_PREFIX = '302a300506032b6570032100';

export function publicKeyPem(publicKeyHex: string): string {
  const der = toBase64(hexToBytes(SPKI_ED25519_PREFIX + publicKeyHex));
  return `-----BEGIN PUBLIC KEY-----\n${der}\n-----END PUBLIC KEY-----\n`;
}

/** The raw key (hex) from an SPKI PEM, or undefined when it is not an Ed25519 public key. */
export function publicKeyFromPem(pem: string): string | undefined {
  const body = pem.replace(/-----(BEGIN|END) PUBLIC KEY-----/g, '').replace(/\s+/g, '');
  let hex: string;
  try {
    hex = bytesToHex(fromBase64(body));
  } catch {
    return undefined;
  }
  return hex.length === 88 && hex.startsWith(SPKI_ED25519_PREFIX) ? hex.slice(24) : undefined;
}

export function signHead(
  key: { keyId: string; publicKey: string; privateKey: Uint8Array },
  taskId: string,
  head: ChainHead,
  reason: string,
  signedAt: string,
): SignedHead {
  const signed = { steward: HEAD_V2, seq: head.seq, hash: head.hash, reason, signedAt } as const;
  const sig = ed25519.sign(encoder.encode(headMessage(taskId, signed)), key.privateKey);
  return {
    type: 'head',
    steward: HEAD_V2,
    taskId,
    seq: head.seq,
    hash: head.hash,
    signedAt,
    reason,
    keyId: key.keyId,
    publicKey: key.publicKey,
    publicKeyPem: publicKeyPem(key.publicKey),
    fingerprint: keyFingerprint(key.publicKey),
    signature: toBase64(sig),
  };
}

/** Null when the head is signed by `publicKey` (hex), else why not. */
export function checkHeadSignature(head: SignedHead, publicKey: string): string | null {
  try {
    const valid = ed25519.verify(
      fromBase64(head.signature),
      encoder.encode(headMessage(head.taskId, head)),
      hexToBytes(publicKey),
    );
    return valid ? null : 'the signature does not match the head';
  } catch (err) {
    return `the signature cannot be checked: ${err instanceof Error ? err.message : String(err)}`;
  }
}

function toBase64(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes));
}

function fromBase64(text: string): Uint8Array {
  return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
}
