import { ApplicationFailure } from '@temporalio/common';
import type { AuditEntry } from '../audit/chain';
import { signHead, type SignedHead } from '../audit/head';
import { ErrorTypes } from '../errors';
import type { AuditStore } from '../stores/auditStore';
import { AuditStoreConflict } from '../stores/auditStore';

export interface AuditActivityDeps {
  auditStore?: AuditStore;
  /** The install's key: it signs chain heads; it never leaves this process. */
  auditKey?: { keyId: string; publicKey: string; privateKey: Uint8Array };
}

export interface ExportAuditInput {
  taskId: string;
  /** Entries not yet in the store, in order (may be empty: then only the head is signed). */
  entries: AuditEntry[];
  /** The chain head to sign: the last entry's, or the last exported one's. */
  head: { seq: number; hash: string };
  reason: string;
}

/**
 * Writes a task's new audit entries to the audit store and signs the chain head. It runs as a local
 * activity at the few points that matter (an approval, a continue-as-new, the end, a full batch), so
 * the trail leaves Temporal without an activity per step; its result (the signed head) is recorded.
 */
export function createAuditActivity({ auditStore, auditKey }: AuditActivityDeps) {
  return async function exportAudit(input: ExportAuditInput): Promise<{ signed?: SignedHead }> {
    if (!auditStore) return {};
    try {
      await auditStore.append(input.taskId, input.entries);
    } catch (err) {
      if (err instanceof AuditStoreConflict)
        throw ApplicationFailure.nonRetryable(err.message, ErrorTypes.AuditConflict);
      throw err;
    }
    if (!auditKey || input.head.seq === 0) return {};
    const signed = signHead(auditKey, input.taskId, input.head, input.reason, new Date().toISOString());
    await auditStore.putHead(signed);
    return { signed };
  };
}
