import { ed25519 } from '@noble/curves/ed25519';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils';
import { canonicalJson } from './canonicalJson';

/**
 * Signed spend-ledger messages. Anyone with Temporal access can signal or update a ledger workflow,
 * so a ledger believes only what a worker signed with its install key: a reservation (its amount and
 * the cap as the worker resolved it) and a settlement below the reservation (the real cost as the model
 * activity read it, or a release of a reservation that never ran). Workflow code cannot sign (the key
 * never enters history): activities sign, the workflow forwards, the ledger verifies (pure, in workflow
 * code) against the public keys its worker trusts.
 */
export interface LedgerSignature {
  keyId: string;
  /** The signer's raw Ed25519 public key, hex; trusted only if the ledger lists it. */
  publicKey: string;
  /** Ed25519 over the canonical JSON of the statement, hex. */
  sig: string;
}

/** What a reservation statement covers (the ReserveRequest without its signature). */
export interface ReserveStatement {
  id: string;
  taskId: string;
  usd: number;
  tokens: number;
  cap: { usd?: number; tokens?: number };
  expiresAt: number;
}

/** What a settlement statement covers: what reservation `id` in `account`'s ledger really cost. */
export interface SettleStatement {
  id: string;
  usd: number;
  tokens: number;
}

const encoder = new TextEncoder();

/** Only the named fields are signed, so a signature field or anything else riding along is not. */
function reserveStatement(account: string, b: ReserveStatement): Uint8Array {
  const { id, taskId, usd, tokens, cap, expiresAt } = b;
  const body = { id, taskId, usd, tokens, cap: { usd: cap.usd, tokens: cap.tokens }, expiresAt };
  return encoder.encode(canonicalJson({ steward: 'ledger-reserve/v1', account, ...body }));
}

function settleStatement(account: string, b: SettleStatement): Uint8Array {
  return encoder.encode(
    canonicalJson({ steward: 'ledger-settle/v1', account, id: b.id, usd: b.usd, tokens: b.tokens }),
  );
}

export interface SigningKey {
  keyId: string;
  publicKey: string;
  privateKey: Uint8Array;
}

export function signReserve(key: SigningKey, account: string, body: ReserveStatement): LedgerSignature {
  return sign(key, reserveStatement(account, body));
}

export function signSettle(key: SigningKey, account: string, body: SettleStatement): LedgerSignature {
  return sign(key, settleStatement(account, body));
}

/** Null when `signature` is a trusted key's over exactly this reservation for this account, else why not. */
export function checkReserve(
  trusted: readonly string[],
  account: string,
  body: ReserveStatement,
  signature: LedgerSignature | undefined,
): string | null {
  return check(trusted, reserveStatement(account, body), signature);
}

/** Null when `signature` is a trusted key's over exactly this settlement for this account, else why not. */
export function checkSettle(
  trusted: readonly string[],
  account: string,
  body: SettleStatement,
  signature: LedgerSignature | undefined,
): string | null {
  return check(trusted, settleStatement(account, body), signature);
}

function sign(key: SigningKey, message: Uint8Array): LedgerSignature {
  return {
    keyId: key.keyId,
    publicKey: key.publicKey,
    sig: bytesToHex(ed25519.sign(message, key.privateKey)),
  };
}

function check(trusted: readonly string[], message: Uint8Array, signature: LedgerSignature | undefined) {
  if (!signature) return 'not signed by a worker';
  if (!trusted.includes(signature.publicKey))
    return `signed by key ${signature.keyId}, which this ledger's worker does not trust`;
  try {
    if (ed25519.verify(hexToBytes(signature.sig), message, hexToBytes(signature.publicKey))) return null;
  } catch {
    // a malformed signature or key: not valid
  }
  return `the signature by key ${signature.keyId} does not match this message`;
}
