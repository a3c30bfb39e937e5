import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { AuditEntry } from '../audit/chain';
import type { LedgerSignature } from '../audit/ledgerSigning';
import type { DecisionSignature } from '../audit/signing';
import type { ApprovalDecisionInput, ApprovalOutcome } from '../policies/approval';
import type { LedgerState, ReserveAnswer, ReserveRequest } from '../policies/ledger';
import type { TaskState } from './contract';
import {
  finiteNumber,
  MessageProblem,
  nullish,
  object,
  oneOf,
  optional,
  record,
  text,
  type Check,
} from './check';

/** Longest identity and reason a message may carry: anything a person types fits, a payload does not. */
export const MAX_IDENTITY_CHARS = 200;
export const MAX_REASON_CHARS = 2000;

/** Printable text only: a control character in an identity is a trick, not a name. */
const identity = text({
  trim: true,
  min: 1,
  minMessage: 'identity is missing',
  max: MAX_IDENTITY_CHARS,
  // eslint-disable-next-line no-control-regex
  pattern: { re: /^[^\u0000-\u001f\u007f]+$/, message: 'identity must be printable text' },
});
const reason = nullish(text({ max: MAX_REASON_CHARS }));

/** An Ed25519 signature of a decision (see audit/signing.ts). */
const signatureSchema = object<DecisionSignature>({
  keyId: text({ min: 1, max: 100 }),
  at: text({ min: 1, max: 40 }),
  sig: text({ pattern: { re: /^[0-9a-f]{128}$/, message: 'an Ed25519 signature in hex (128 digits)' } }),
});

/**
 * Every message a task takes is checked against these before anything touches its state or audit,
 * so a malformed or oversized payload is refused with the field named, never recorded or recursed into.
 * Hand-written checks (check.ts), not zod: the workflow bundle stays small (a copy per workflow).
 */
export const decisionInputSchema = object<Omit<ApprovalDecisionInput, 'reason'> & { reason?: string | null }>(
  {
    approvalId: text({ min: 1, max: 100 }),
    digest: text({ pattern: { re: /^[0-9a-f]{64}$/, message: 'digest must be a sha256 in hex' } }),
    identity,
    decision: oneOf('approve', 'reject'),
    reason,
    /** New values for arguments the approval rule makes editable; checked against the pending call. */
    edits: optional(record(text({ min: 1, max: 200 }))),
    signature: optional(signatureSchema),
  },
);
export const cancelInputSchema = nullish(
  object<CancelInput>({ identity: optional(identity), reason, signature: optional(signatureSchema) }),
);

export type CancelInput = { reason?: string | null; identity?: string; signature?: DecisionSignature };

/** An approver's decision; the validator refuses unknown ids, changed digests and identities not allowed. */
export const approveUpdate = defineUpdate<
  { approvalId: string; outcome: ApprovalOutcome },
  [ApprovalDecisionInput]
>('approve');
/** The same decision for fire-and-forget clients; a refused one is audited instead of answered. */
export const approvalSignal = defineSignal<[ApprovalDecisionInput]>('approval');
export const cancelSignal = defineSignal<[CancelInput]>('cancel');
export const stateQuery = defineQuery<TaskState>('state');
export const auditQuery = defineQuery<AuditEntry[]>('audit');
/**
 * Every entry this run appended, rebuilt by replaying its history when the run has closed: what
 * `steward audit verify --rebuild` compares with the store, entry for entry.
 */
export const auditRunQuery = defineQuery<AuditEntry[]>('auditRun');

/** The parsed message, or a short reason naming the first bad field (never the payload itself). */
export function parseMessage<T>(
  schema: Check<T>,
  input: unknown,
): { ok: true; value: T } | { ok: false; problem: string } {
  try {
    return { ok: true, value: schema(input, '') };
  } catch (err) {
    if (!(err instanceof MessageProblem)) throw err;
    return { ok: false, problem: `${err.at || 'message'}: ${err.message}`.slice(0, 300) };
  }
}

// ---- the spend ledger (one workflow per principal and per agent) --------------------------------

/** A reservation, signed by the worker that made it (the ledger refuses any other). */
export type SignedReserveRequest = ReserveRequest & { signature?: LedgerSignature };
/** What a step cost; below its reservation only when a worker signed it (else the reservation is charged). */
export type SettleInput = { id: string; usd: number; tokens: number; signature?: LedgerSignature };

/** Reserves a step's most expensive outcome before it starts; answered with the grant or why not. */
export const reserveUpdate = defineUpdate<ReserveAnswer, [SignedReserveRequest]>('reserve');
/** What the step really cost (or 0 if it never ran); replaces its reservation. */
export const settleSignal = defineSignal<[SettleInput]>('settle');
export const ledgerQuery = defineQuery<LedgerState>('ledger');

const amount = finiteNumber(0, 1e12);
const ledgerSignatureSchema = object<LedgerSignature>({
  keyId: text({ min: 1, max: 100 }),
  publicKey: text({ pattern: { re: /^[0-9a-f]{64}$/, message: 'an Ed25519 public key in hex (64 digits)' } }),
  sig: text({ pattern: { re: /^[0-9a-f]{128}$/, message: 'an Ed25519 signature in hex (128 digits)' } }),
});
export const reserveRequestSchema = object<SignedReserveRequest>({
  id: text({ min: 1, max: 500 }),
  taskId: text({ min: 1, max: 300 }),
  usd: amount,
  tokens: amount,
  cap: object<ReserveRequest['cap']>({ usd: optional(amount), tokens: optional(amount) }),
  expiresAt: finiteNumber(0, 8.64e15),
  signature: optional(ledgerSignatureSchema),
});
export const settleInputSchema = object<SettleInput>({
  id: text({ min: 1, max: 500 }),
  usd: amount,
  tokens: amount,
  signature: optional(ledgerSignatureSchema),
});
