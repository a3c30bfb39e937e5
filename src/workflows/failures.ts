import { ActivityFailure, ApplicationFailure, TimeoutFailure } from '@temporalio/workflow';
import { boundedText, ErrorTypes } from '../errors';
import type { StopReason } from './contract';

/** Ends the task with a reason a person can act on; caught once, at the top of the workflow. */
export class StopTask extends Error {
  constructor(
    readonly reason: StopReason,
    readonly detail: string,
  ) {
    super(`${reason}: ${detail}`);
  }
}

function innermost(err: unknown): unknown {
  let cause: unknown = err;
  while (cause instanceof ActivityFailure && cause.cause) cause = cause.cause;
  return cause;
}

/** A readable reason from an activity failure: the innermost message, with its type. */
export function describeFailure(err: unknown): string {
  const cause = innermost(err);
  const text =
    cause instanceof ApplicationFailure
      ? `${cause.type ?? 'Error'}: ${cause.message}`
      : cause instanceof Error
        ? cause.message
        : String(cause);
  return boundedText(text);
}

/** A failed model call may still have been billed when the provider answered or ran out of time. */
export function mayHaveBeenBilled(err: unknown): boolean {
  const cause = innermost(err);
  if (cause instanceof TimeoutFailure) return true;
  return (
    cause instanceof ApplicationFailure &&
    (cause.type === ErrorTypes.ProviderBadResponse || cause.type === ErrorTypes.ProviderTimeout)
  );
}

/** The failure's type for the audit: an application failure's own type, else the kind of failure. */
export function failureType(err: unknown): string {
  const cause = innermost(err);
  if (cause instanceof ApplicationFailure) return cause.type ?? 'ApplicationFailure';
  if (cause instanceof TimeoutFailure) return 'TimeoutFailure';
  return cause instanceof Error ? cause.name : 'Error';
}
