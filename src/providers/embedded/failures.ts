/**
 * How the embedded provider fails: a cancelled call rejects with the signal's reason (what the activity
 * aborted with), or a retryable `ProviderUnavailable`; anything else the caller wraps with `messageOf`.
 */
import type { ApplicationFailure } from '@temporalio/common';
import { ErrorTypes, failure } from '../../errors';

export function abortError(signal: AbortSignal): unknown {
  const reason: unknown = signal.reason;
  if (reason !== undefined && typeof reason === 'object' && reason !== null && 'message' in reason)
    return reason;
  return failure(ErrorTypes.ProviderUnavailable, 'the embedded model call was cancelled');
}

/** Waits for `promise`, or rejects as soon as the signal aborts (the promise itself runs on). */
export function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(abortError(signal));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(abortError(signal));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err instanceof Error ? err : new Error(String(err)));
      },
    );
  });
}

export function throwIfAborted(signal: AbortSignal): void {
  if (signal.aborted) throw abortError(signal);
}

export function isApplicationFailure(err: unknown): err is ApplicationFailure {
  return typeof err === 'object' && err !== null && (err as { name?: unknown }).name === 'ApplicationFailure';
}

export function messageOf(err: unknown): string {
  return typeof err === 'object' && err !== null && 'message' in err
    ? String((err as { message: unknown }).message)
    : String(err);
}
