import type { LoadedConfig } from '../config/load';
import { blobStoreFor } from '../runtime/localStack';
import type { TaskState } from '../workflows/contract';

/**
 * The pending action's input with what the blob store holds put back, so an approver sees the
 * whole action the digest covers, not a preview. Where the blobs are not on this machine, the
 * references (with their sha256 and preview) are shown instead.
 */
export async function resolvedInput(config: LoadedConfig, state: TaskState): Promise<unknown> {
  const input = state.pendingApproval!.action.input;
  return blobStoreFor(config)
    .resolve(input)
    .catch(() => input);
}

/** The validator's reason (not allowed, changed action…) is the cause of the update's failure. */
export function refusalReason(err: Error): string {
  return err.cause instanceof Error ? err.cause.message : err.message;
}
