import { CancellationScope, proxyLocalActivities } from '@temporalio/workflow';
import type { StewardActivities } from '../activities';
import { appendAudit, GENESIS, type AuditEntry, type AuditFields, type ChainHead } from '../audit/chain';
import { canonicalJson } from '../audit/canonicalJson';
import { sha256Hex } from '../audit/sha256';
import { boundedText, NON_RETRYABLE_ERROR_TYPES } from '../errors';
import { isBlobRef } from '../shared/types';
import { describeFailure } from './failures';
import type { CarriedAudit } from './contract';

/** Past this many unwritten entries, the trail is written out at the next step boundary. */
export const EXPORT_BATCH = 256;

/** Written at the points that matter; a store that is down keeps the entries here until it is back. */
const { exportAudit } = proxyLocalActivities<StewardActivities>({
  startToCloseTimeout: '30s',
  retry: { maximumAttempts: 3, initialInterval: '200ms', nonRetryableErrorTypes: NON_RETRYABLE_ERROR_TYPES },
});
/** At the end there is no later point: it keeps trying for an hour (as timers, not a held slot). */
const { exportAudit: exportAuditAtEnd } = proxyLocalActivities<StewardActivities>({
  startToCloseTimeout: '30s',
  scheduleToCloseTimeout: '1h',
  retry: { initialInterval: '1s', maximumInterval: '1m', nonRetryableErrorTypes: NON_RETRYABLE_ERROR_TYPES },
});

/** sha256 of a value's canonical JSON: how an activity's result is named in the trail. */
export function resultDigest(value: unknown): string | undefined {
  try {
    return sha256Hex(canonicalJson(value ?? null));
  } catch {
    return undefined;
  }
}

/** The blob hashes a value refers to (a step's output stored in the blob store), to a bounded depth. */
export function blobHashes(value: unknown, depth = 0, found: string[] = []): string[] {
  if (depth > 8 || found.length >= 32 || typeof value !== 'object' || value === null) return found;
  if (isBlobRef(value)) {
    found.push(value.$blob);
    return found;
  }
  for (const item of Array.isArray(value) ? value : Object.values(value)) blobHashes(item, depth + 1, found);
  return found;
}

/**
 * A task's audit trail in workflow code: entries are chained here, deterministically, and written to
 * the audit store by the `exportAudit` local activity at approvals, continue-as-new, the end and every
 * `EXPORT_BATCH` entries, which also signs the head. Only the head and the unwritten entries travel
 * across continue-as-new. A worker that writes no audit store (`exports` false) keeps every entry here.
 */
export class Trail {
  readonly carried: CarriedAudit;
  /** The entries this run appended (not carried: the next run starts its own). */
  readonly thisRun: AuditEntry[] = [];

  constructor(
    private readonly taskId: string,
    carried: CarriedAudit | undefined,
    readonly exports: boolean,
  ) {
    this.carried = carried ?? { head: GENESIS, pending: [] };
  }

  get head(): ChainHead {
    return this.carried.head;
  }

  /** Appends to the chain; data that cannot be encoded is recorded as such, never thrown. */
  append(kind: string, at: string, step: number, fields: AuditFields): AuditEntry {
    const { data = {}, ...rest } = fields;
    let entry: AuditEntry;
    try {
      entry = appendAudit(this.carried.head, this.taskId, { kind, at, step, ...rest, data });
    } catch (err) {
      const unrecordable = boundedText(err instanceof Error ? err.message : String(err), 300);
      entry = appendAudit(this.carried.head, this.taskId, { kind, at, step, data: { unrecordable } });
    }
    this.carried.pending.push(entry);
    this.thisRun.push(entry);
    this.carried.head = { seq: entry.seq, hash: entry.hash };
    return entry;
  }

  get full(): boolean {
    return this.exports && this.carried.pending.length >= EXPORT_BATCH;
  }

  /**
   * Writes the unwritten entries and has the head signed. A failure is audited and leaves them here
   * for the next point; at the end (`final`) it keeps trying, and what it never wrote is returned.
   */
  async export(
    reason: string,
    audit: (kind: string, fields: AuditFields) => void,
    final = false,
  ): Promise<void> {
    if (!this.exports) return;
    const entries = this.carried.pending.slice();
    const input = { taskId: this.taskId, entries, head: this.carried.head, reason };
    try {
      const { signed } = final
        ? await CancellationScope.nonCancellable(() => exportAuditAtEnd(input))
        : await exportAudit(input);
      // entries appended while it ran (a signal) stay pending
      this.carried.pending.splice(0, entries.length);
      if (signed) this.carried.signed = signed;
    } catch (err) {
      if (final) return; // the result carries what was not written
      audit('audit.export_failed', {
        data: { reason, error: describeFailure(err), pending: entries.length },
      });
    }
  }
}
