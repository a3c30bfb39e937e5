import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import { z } from 'zod';
import type { AuditEntry } from '../audit/chain';
import type { DecisionSignature } from '../audit/signing';
import type { ApprovalDecisionInput, ApprovalOutcome } from '../policies/approval';
import type { LedgerState, ReserveAnswer, ReserveRequest } from '../policies/ledger';
import type { TaskState } from './contract';

/** Longest identity and reason a message may carry: anything a person types fits, a payload does not. */
export const MAX_IDENTITY_CHARS = 200;
export const MAX_REASON_CHARS = 2000;

/** Printable text only: a control character in an identity is a trick, not a name. */
const identity = z
  .string()
  .trim()
  .min(1, 'identity is missing')
  .max(MAX_IDENTITY_CHARS)
  // eslint-disable-next-line no-control-regex
  .regex(/^[^\u0000-\u001f\u007f]+$/, 'identity must be printable text');
const reason = z.string().max(MAX_REASON_CHARS).nullish();

/** An Ed25519 signature of a decision (see audit/signing.ts). */
const signatureSchema = z.object({
  keyId: z.string().min(1).max(100),
  at: z.string().min(1).max(40),
  sig: z.string().regex(/^[0-9a-f]{128}$/, 'an Ed25519 signature in hex (128 digits)'),
});

/**
 * Every message a task takes is checked against these before anything touches its state or audit,
 * so a malformed or oversized payload is refused with the field named, never recorded or recursed into.
 */
export const decisionInputSchema = z.object({
  approvalId: z.string().min(1).max(100),
  digest: z.string().regex(/^[0-9a-f]{64}$/, 'digest must be a sha256 in hex'),
  identity,
  decision: z.enum(['approve', 'reject']),
  reason,
  /** New values for arguments the approval rule makes editable; checked against the pending call. */
  edits: z.record(z.string().min(1).max(200), z.unknown()).optional(),
  signature: signatureSchema.optional(),
});
export const cancelInputSchema = z
  .object({ identity: identity.optional(), reason, signature: signatureSchema.optional() })
  .nullish();

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
  schema: z.ZodType<T>,
  input: unknown,
): { ok: true; value: T } | { ok: false; problem: string } {
  const parsed = schema.safeParse(input);
  if (parsed.success) return { ok: true, value: parsed.data };
  const issue = parsed.error.issues[0]!;
  const path = issue.path.length ? issue.path.join('.') : 'message';
  return { ok: false, problem: `${path}: ${issue.message}`.slice(0, 300) };
}

// ---- the spend ledger (one workflow per principal and per agent) --------------------------------

/** Reserves a step's most expensive outcome before it starts; answered with the grant or why not. */
export const reserveUpdate = defineUpdate<ReserveAnswer, [ReserveRequest]>('reserve');
/** What the step really cost (or 0 if it never ran); replaces its reservation. */
export const settleSignal = defineSignal<[{ id: string; usd: number; tokens: number }]>('settle');
export const ledgerQuery = defineQuery<LedgerState>('ledger');

const amount = z.number().finite().min(0).max(1e12);
export const reserveRequestSchema = z.object({
  id: z.string().min(1).max(500),
  taskId: z.string().min(1).max(300),
  usd: amount,
  tokens: amount,
  cap: z.object({ usd: amount.optional(), tokens: amount.optional() }),
  expiresAt: z.number().finite().min(0).max(8.64e15),
});
export const settleInputSchema = z.object({ id: z.string().min(1).max(500), usd: amount, tokens: amount });
