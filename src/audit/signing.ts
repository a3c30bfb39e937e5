import { ed25519 } from '@noble/curves/ed25519';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils';
import { canonicalJson } from './canonicalJson';
import { sha256Hex } from './sha256';

/**
 * Signed decisions: an approval, a rejection or a cancel is accepted only when it is signed (Ed25519)
 * by a key the worker's configuration trusts. Pure and deterministic (@noble/curves), so the update
 * validator verifies it in workflow code; the private key never enters history.
 */

/** A public key the worker trusts, and whom it may sign for (`*`: anyone its holder authenticated). */
export interface TrustedKey {
  id: string;
  /** The raw 32-byte Ed25519 public key, in hex. */
  publicKey: string;
  signsFor: string[];
}

export interface DecisionSignature {
  keyId: string;
  /** When it was signed (ISO 8601); part of what is signed, kept in the audit. */
  at: string;
  /** The Ed25519 signature of the decision's canonical JSON, in hex. */
  sig: string;
}

/**
 * What a signature covers: which task, run and request, which exact call, what was decided, by whom,
 * when. The run makes a decision good for one request of one run: a task id reused for a new task, or
 * a reset, gets new runs, and a decision signed for an earlier one does not verify there.
 */
export interface SignedDecision {
  taskId: string;
  /** An approval: the run that asked (`ApprovalRequest.runId`); a cancel: the task's first run. */
  runId: string;
  /** The approval request's id, or `cancel`. */
  approvalId: string;
  /** The digest of the exact call (empty for a cancel). */
  digest: string;
  decision: 'approve' | 'reject' | 'cancel';
  identity: string;
  reason?: string;
  edits?: Record<string, unknown>;
  at: string;
}

/** What is signed for an approval or a rejection: the one builder the signer and the verifier share. */
export function approvalToSign(
  taskId: string,
  input: {
    runId: string;
    approvalId: string;
    digest: string;
    decision: 'approve' | 'reject';
    identity: string;
    reason?: string | null;
    edits?: Record<string, unknown>;
  },
): Omit<SignedDecision, 'at'> {
  return {
    taskId,
    runId: input.runId,
    approvalId: input.approvalId,
    digest: input.digest,
    decision: input.decision,
    identity: input.identity,
    ...(input.reason ? { reason: input.reason } : {}),
    ...(input.edits !== undefined ? { edits: input.edits } : {}),
  };
}

/** What is signed for a cancel. */
export function cancelToSign(
  taskId: string,
  firstRunId: string,
  identity: string,
  reason?: string | null,
): Omit<SignedDecision, 'at'> {
  return {
    taskId,
    runId: firstRunId,
    approvalId: 'cancel',
    digest: '',
    decision: 'cancel',
    identity,
    ...(reason ? { reason } : {}),
  };
}

const encoder = new TextEncoder();

function decisionBytes(decision: SignedDecision): Uint8Array {
  return encoder.encode(canonicalJson({ steward: 'decision/v2', ...decision }));
}

/** A short, stable name of a public key: the first 16 hex digits of its sha256. */
export function keyFingerprint(publicKey: string): string {
  return sha256Hex(publicKey).slice(0, 16);
}

export function signDecision(
  privateKey: Uint8Array,
  keyId: string,
  decision: Omit<SignedDecision, 'at'>,
  at: string,
): DecisionSignature {
  return { keyId, at, sig: bytesToHex(ed25519.sign(decisionBytes({ ...decision, at }), privateKey)) };
}

/**
 * Why a signed decision cannot be accepted, or null when it can: the key must be trusted, may sign
 * for this identity, and must have signed exactly this decision (a signature for another task,
 * request, call, decision or identity does not verify).
 */
export function checkSignature(
  trusted: TrustedKey[],
  decision: Omit<SignedDecision, 'at'>,
  signature: DecisionSignature | undefined,
): string | null {
  const howTo =
    'approve with `steward approve <taskId>` (signed with this install’s key) or in the review lane';
  if (!signature) return `the decision is not signed by a key this worker trusts; ${howTo}`;
  const key = trusted.find((k) => k.id === signature.keyId);
  if (!key) return `key ${signature.keyId} is not trusted by this worker; ${howTo}`;
  if (!key.signsFor.includes('*') && !key.signsFor.includes(decision.identity))
    return `key ${key.id} may not sign for ${decision.identity}`;
  let valid = false;
  try {
    valid = ed25519.verify(
      hexToBytes(signature.sig),
      decisionBytes({ ...decision, at: signature.at }),
      hexToBytes(key.publicKey),
    );
  } catch {
    valid = false;
  }
  return valid ? null : `the signature by key ${key.id} does not match this decision`;
}

export function publicKeyOf(privateKey: Uint8Array): string {
  return bytesToHex(ed25519.getPublicKey(privateKey));
}
