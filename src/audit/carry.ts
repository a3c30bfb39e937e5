import { ed25519 } from '@noble/curves/ed25519';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils';
import { canonicalJson } from './canonicalJson';
import { sha256Hex } from './sha256';

/**
 * Carried state, proven. Only a workflow's own continue-as-new may hand state to its next run, and
 * Temporal cannot tell a continue-as-new from a cron run, a workflow retry or a raw start that sets
 * the same input. So before it continues, a run has a worker sign `{workflowId, fromRunId, digest}`
 * (a local activity: the key never enters history), and the next run accepts the state only when
 * that signature is by a key the worker trusts and names the run it continued from
 * (`workflowInfo().continuedFromExecutionRunId`). A forged or replayed state names another run.
 */
export interface CarrySignature {
  keyId: string;
  /** The signer's raw Ed25519 public key, in hex; trusted only if the verifier lists it. */
  publicKey: string;
  /** Ed25519 over the canonical JSON of the statement, in hex. */
  sig: string;
}

const encoder = new TextEncoder();

/** The digest of what is carried (any JSON value), as signed. */
export function carryDigest(payload: unknown): string {
  return sha256Hex(canonicalJson(payload));
}

function statement(workflowId: string, fromRunId: string, digest: string): Uint8Array {
  return encoder.encode(canonicalJson({ steward: 'carry/v1', workflowId, fromRunId, digest }));
}

export function signCarry(
  key: { keyId: string; publicKey: string; privateKey: Uint8Array },
  workflowId: string,
  fromRunId: string,
  payload: unknown,
): CarrySignature {
  const sig = ed25519.sign(statement(workflowId, fromRunId, carryDigest(payload)), key.privateKey);
  return { keyId: key.keyId, publicKey: key.publicKey, sig: bytesToHex(sig) };
}

/**
 * Why carried state cannot be accepted, or null when it can: it must be signed, by a trusted public
 * key, for this workflow, as continued from exactly `fromRunId`, over exactly this payload.
 */
export function checkCarry(
  trustedPublicKeys: readonly string[],
  workflowId: string,
  fromRunId: string | undefined,
  payload: unknown,
  signature: CarrySignature | undefined,
): string | null {
  if (!fromRunId) return 'only a continue-as-new may carry state, and this run did not continue from another';
  if (!signature) return 'the carried state is not signed by a worker';
  if (!trustedPublicKeys.includes(signature.publicKey))
    return `the carried state is signed by key ${signature.keyId}, which this worker does not trust`;
  let valid = false;
  try {
    valid = ed25519.verify(
      hexToBytes(signature.sig),
      statement(workflowId, fromRunId, carryDigest(payload)),
      hexToBytes(signature.publicKey),
    );
  } catch {
    valid = false;
  }
  return valid
    ? null
    : 'the carried state was not signed for this workflow, this previous run and this state';
}
