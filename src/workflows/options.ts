import { proxyActivities, proxyLocalActivities } from '@temporalio/workflow';
import { ActivityCancellationType, type ActivityOptions, type RetryPolicy } from '@temporalio/common';
import type { StewardActivities } from '../activities';
import { NON_RETRYABLE_ERROR_TYPES } from '../errors';

const retry: RetryPolicy = {
  initialInterval: '1s',
  backoffCoefficient: 2,
  maximumInterval: '30s',
  nonRetryableErrorTypes: NON_RETRYABLE_ERROR_TYPES,
};

/** Model calls heartbeat from their first second, so a dead worker or a cancel is noticed quickly. */
export const MODEL_OPTIONS: ActivityOptions = {
  startToCloseTimeout: '10m',
  heartbeatTimeout: '15s',
  retry: { ...retry, maximumAttempts: 4 },
};
/** A cancelled tool is waited for, so an effect it completes anyway is recorded, not lost. */
export const TOOL_OPTIONS: ActivityOptions = {
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  startToCloseTimeout: '5m',
  heartbeatTimeout: '10s',
  retry: { ...retry, maximumAttempts: 5 },
};
/** Past this many bytes of inline messages, the free loop's transcript moves into the blob store. */
export const TRANSCRIPT_INLINE_BYTES = 16 * 1024;
/** A compute node that does not pick a job up within this time is treated as down; the next is tried. */
export const DEFAULT_PICKUP_TIMEOUT_SECONDS = 30;
/** Anything a step schedules is checked against this first: history must never carry a payload. */
export const MAX_STEP_INPUT_BYTES = 256 * 1024;

// Every call passes its own options (MODEL_OPTIONS or TOOL_OPTIONS) with executeWithOptions.
export const { callModel, runTool } = proxyActivities<StewardActivities>({ startToCloseTimeout: '10m' });
/**
 * A short read declared `local` (ToolDescriptor.local) runs as a local activity: within the workflow
 * task, its result recorded as a marker, no activity round trip through the server. Its per-attempt
 * timeout is the tool's own; a cancel reaches it without heartbeats.
 */
export const { runTool: runToolLocally } = proxyLocalActivities<StewardActivities>({
  startToCloseTimeout: '30s',
  retry: { ...retry, maximumAttempts: 3 },
});
/**
 * Resolving a request reads only the worker's registry and config; signing and checking carried
 * state only its keys: short, local, retried if they fail.
 */
export const { resolveTask, signCarried, checkCarried } = proxyLocalActivities<StewardActivities>({
  startToCloseTimeout: '30s',
  retry: { ...retry, maximumAttempts: 5 },
});
/**
 * Reserving waits for the ledger workflow's answer, so it is a normal activity: as a local activity
 * it would hold the task's workflow slot while the ledger needs one, and many tasks would deadlock.
 */
export const { reserveSpend } = proxyActivities<StewardActivities>({
  startToCloseTimeout: '30s',
  retry: { ...retry, maximumAttempts: 10 },
  summary: 'reserve spend in the shared ledger',
});
