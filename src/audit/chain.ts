import { canonicalJson } from './canonicalJson';
import { wellFormedText } from '../shared/unicode';
import { sha256Hex } from './sha256';
import type { DataClass } from '../shared/types';

/**
 * The audit trail's entries, schema `steward.audit/1` (docs/audit.md is its reference): each entry
 * is hashed over its own canonical JSON (RFC 8785), `prevHash` included and `hash` left out, so a
 * third party re-computes it with any JCS library and sha256. Field names follow the OpenTelemetry
 * GenAI conventions where one exists. `at` is workflow time, so replay reproduces every entry.
 */
export const AUDIT_SCHEMA = 1;

/** Who acted: the agent, on whose behalf, and the person who decided (an approval, a cancel). */
export interface AuditActor {
  agent?: string;
  principal?: string;
  approver?: string;
  keyId?: string;
}

/** What was done: a tool call, a model call, a compute job or a spend reservation, and its arguments' digest. */
export interface AuditAction {
  type: 'tool' | 'model' | 'job' | 'ledger';
  'gen_ai.tool.name'?: string;
  'gen_ai.tool.call.id'?: string;
  'gen_ai.request.model'?: string;
  argsDigest?: string;
  /** The Temporal activity type behind this entry, when one ran (`steward audit verify` matches it to history). */
  activity?: string;
}

/** Where it ran: the route or compute node, its provider and model, the queue, the worker that ran it. */
export interface AuditRoute {
  id?: string;
  node?: string;
  'gen_ai.provider.name'?: string;
  'gen_ai.request.model'?: string;
  'gen_ai.response.model'?: string;
  'gen_ai.response.id'?: string;
  taskQueue?: string;
  worker?: string;
}

export interface AuditDecision {
  effect: 'allow' | 'deny' | 'approve';
  ruleIds: string[];
  policyHash?: string;
}

export type AuditOutcome =
  { ok: true; resultDigest?: string } | { ok: false; errorType: string; message: string };

/** What an entry may record besides its kind; `data` holds what is particular to the kind. */
export interface AuditFields {
  actor?: AuditActor;
  action?: AuditAction;
  decision?: AuditDecision;
  route?: AuditRoute;
  /** The data's classes, and the sha256 of the blobs read and written. */
  dataRef?: { classes?: DataClass[]; inputBlobs?: string[]; outputBlobs?: string[] };
  outcome?: AuditOutcome;
  usage?: { 'gen_ai.usage.input_tokens': number; 'gen_ai.usage.output_tokens': number };
  cost?: { usd: number; basis: 'billed' | 'estimated' | 'reserved' };
  data?: Record<string, unknown>;
}

export interface AuditEvent extends AuditFields {
  kind: string;
  at: string;
  step: number;
  data: Record<string, unknown>;
}

export interface AuditEntry extends AuditEvent {
  /** The schema (absent: entries written before it, hashed the older way). */
  v?: typeof AUDIT_SCHEMA;
  taskId?: string;
  seq: number;
  prevHash: string;
  hash: string;
}

/** The chain's position: the last entry's sequence number and hash. */
export interface ChainHead {
  seq: number;
  hash: string;
}

export const GENESIS_HASH = '0'.repeat(64);
export const GENESIS: ChainHead = { seq: 0, hash: GENESIS_HASH };

/** sha256 of a text's UTF-8 bytes, in lowercase hex: `sha256Hex` here, node:crypto's outside workflows. */
export type Sha256Hex = (text: string) => string;

/**
 * The hash an entry must carry: sha256 of its canonical JSON without `hash` (older entries: see
 * below). `sha` may be any sha256 of the UTF-8 bytes; workflow code has only `sha256Hex`
 * (@noble/hashes), a verifier outside it may pass node:crypto's (`nodeSha256Hex`, several times faster).
 */
export function hashEntry(
  entry: Omit<AuditEntry, 'hash'> & { hash?: string },
  sha: Sha256Hex = sha256Hex,
): string {
  if (entry.v === undefined) {
    // before schema 1: sha256(prevHash + canonicalJSON({seq, kind, at, step, data}))
    const { seq, kind, at, step, data } = entry;
    return sha(entry.prevHash + canonicalJson({ seq, kind, at, step, data }));
  }
  const { hash: _hash, ...hashed } = entry;
  return sha(canonicalJson(hashed));
}

/**
 * `value` with every lone surrogate in its strings and keys replaced by U+FFFD. RFC 8785 (I-JSON)
 * has no encoding for one, so a trail holding one could be checked by Steward alone; replaced at the
 * trail's front door, every entry is valid I-JSON and any JCS library re-computes its hash. Values
 * without one are returned as they are (no copy).
 */
export function wellFormed<T>(value: T, depth = 0): T {
  if (typeof value === 'string') return wellFormedText(value) as T;
  // deeper than canonicalJson encodes: left for it to refuse, as before
  if (typeof value !== 'object' || value === null || depth > 64) return value;
  if (Array.isArray(value)) {
    const items = value.map((v: unknown) => wellFormed(v, depth + 1));
    return (items.some((v, i) => v !== value[i]) ? items : value) as T;
  }
  let changed = false;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    const key = wellFormed(k);
    const item = wellFormed(v, depth + 1);
    if (key !== k || item !== v) changed = true;
    out[key] = item;
  }
  return (changed ? out : value) as T;
}

/** Appends one event to the chain after `head`; its strings are made well-formed Unicode first. */
export function appendAudit(head: ChainHead, taskId: string, event: AuditEvent): AuditEntry {
  const entry: Omit<AuditEntry, 'hash'> = {
    v: AUDIT_SCHEMA,
    taskId,
    seq: head.seq + 1,
    ...wellFormed(event),
    prevHash: head.hash,
  };
  return { ...entry, hash: hashEntry(entry) };
}

export type ChainCheck = { ok: true; head: string } | { ok: false; seq: number; reason: string };

/**
 * Verifies that entries link up and that no entry was changed since it was hashed. Outside workflow
 * code, pass `{ sha256Hex: nodeSha256Hex }` (src/runtime/sha256.ts): the same hashes, faster.
 */
export function verifyAudit(
  entries: AuditEntry[],
  start: ChainHead = GENESIS,
  options: { sha256Hex?: Sha256Hex } = {},
): ChainCheck {
  const sha = options.sha256Hex ?? sha256Hex;
  let head = start;
  for (const entry of entries) {
    const seq = typeof entry?.seq === 'number' ? entry.seq : head.seq + 1;
    if (entry?.seq !== head.seq + 1)
      return {
        ok: false,
        seq,
        reason: `entry ${head.seq + 1} is missing or out of place (found entry ${seq})`,
      };
    if (entry.prevHash !== head.hash)
      return { ok: false, seq, reason: `prevHash does not match the hash of entry ${head.seq}` };
    let hash: string;
    try {
      hash = hashEntry(entry, sha);
    } catch (err) {
      return {
        ok: false,
        seq,
        reason: `cannot be hashed: ${err instanceof Error ? err.message : String(err)}`,
      };
    }
    if (hash !== entry.hash) return { ok: false, seq, reason: 'hash does not match its content' };
    head = { seq: entry.seq, hash: entry.hash };
  }
  return { ok: true, head: head.hash };
}
