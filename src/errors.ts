import { ApplicationFailure, type Duration } from '@temporalio/common';

/**
 * The one list of failure types activities throw. Types that a retry cannot fix are non-retryable,
 * so the activity's retry policy (not a second layer of retries) decides what happens next.
 */
export const ErrorTypes = {
  /** Provider answered 408/409/429/5xx or dropped the connection: retry, maybe after Retry-After. */
  ProviderUnavailable: 'ProviderUnavailable',
  /** Provider did not finish within its deadline: it may have done (and billed) the work meanwhile. */
  ProviderTimeout: 'ProviderTimeout',
  /** Provider answered with a body we cannot read (malformed JSON, no choices): usually transient. */
  ProviderBadResponse: 'ProviderBadResponse',
  /** Provider refused the request (400, 401, 403, 404, 422…): retrying the same request cannot help. */
  ProviderRejected: 'ProviderRejected',
  /** A tool or model route named in a task is not registered in this worker. */
  NotRegistered: 'NotRegistered',
  /** A tool's input does not match its schema. */
  ToolInputInvalid: 'ToolInputInvalid',
  /** A tool refused its input for a reason a retry cannot change (path outside the workspace…). */
  ToolRejected: 'ToolRejected',
  /** A tool failed for a reason that may pass (a remote 5xx, a busy file). */
  ToolFailed: 'ToolFailed',
  /** A blob a step refers to is not in the blob store. */
  BlobMissing: 'BlobMissing',
  /**
   * A tool's effect happened but its output could not be recorded (blob store full, output too
   * large): retrying would repeat the effect, so the step fails without a retry.
   */
  ToolOutputUnrecorded: 'ToolOutputUnrecorded',
  /** The audit store holds another version of an entry: a fork of the chain, which no retry mends. */
  AuditConflict: 'AuditConflict',
} as const;

export type ErrorType = (typeof ErrorTypes)[keyof typeof ErrorTypes];

export const NON_RETRYABLE_ERROR_TYPES: ErrorType[] = [
  ErrorTypes.ProviderRejected,
  ErrorTypes.NotRegistered,
  ErrorTypes.ToolInputInvalid,
  ErrorTypes.ToolRejected,
  ErrorTypes.BlobMissing,
  ErrorTypes.ToolOutputUnrecorded,
  ErrorTypes.AuditConflict,
];

/** Error text that reaches history, the audit and logs is cut here: a failure must not carry a payload. */
export const MAX_ERROR_CHARS = 2000;

/** Text cut to `max` characters, saying how much was left out. */
export function boundedText(text: string, max = MAX_ERROR_CHARS): string {
  return text.length <= max ? text : `${text.slice(0, max)}… (${text.length - max} more characters)`;
}

/** Timeouts, conflicts, rate limits and server errors may pass; other 4xx answers will not. */
export function isRetryableHttpStatus(status: number): boolean {
  return [408, 409, 429].includes(status) || status >= 500;
}

export function failure(
  type: ErrorType,
  message: string,
  options: { nextRetryDelay?: Duration; cause?: Error; details?: unknown[] } = {},
): ApplicationFailure {
  return ApplicationFailure.create({
    type,
    message: boundedText(message),
    nonRetryable: NON_RETRYABLE_ERROR_TYPES.includes(type),
    nextRetryDelay: options.nextRetryDelay,
    cause: options.cause,
    details: options.details,
  });
}

/**
 * The base of every error a person can act on (a bad config field, an unknown agent, a missing key):
 * `name` is the class's own, `message` says what was wrong, `hint` (when there is one) what to do.
 * The CLI shows these as one line, without a stack; anything else is an unexpected error.
 */
export class StewardError extends Error {
  /** What to do about it, when the message alone does not say. */
  readonly hint?: string;

  constructor(message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    Object.defineProperty(this, 'name', { value: new.target.name, configurable: true, writable: true });
    if (options.hint !== undefined) this.hint = options.hint;
  }
}
