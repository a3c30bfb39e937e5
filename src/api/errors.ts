import type { z } from 'zod';

/**
 * Every error the front door answers with: an HTTP status and a stable code, and a message a person
 * can act on (naming the field, for a bad request). The body is always `{ error: { code, message } }`.
 */
export const ERROR_CODES = {
  unauthorized: 401,
  forbidden: 403,
  invalid_request: 400,
  not_found: 404,
  method_not_allowed: 405,
  conflict: 409,
  body_too_large: 413,
  unsupported_media_type: 415,
  rate_limited: 429,
  unavailable: 503,
  internal: 500,
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export class ApiError extends Error {
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
    this.status = ERROR_CODES[code];
  }
}

export interface ErrorBody {
  error: { code: ErrorCode; message: string };
}

/** `body.reason: Too big: expected string to have <=2000 characters` */
export function describeIssue(issue: z.core.$ZodIssue, where: string): string {
  const path = [where, ...issue.path.map(String)].join('.');
  return `${path}: ${issue.message}`.slice(0, 500);
}

/** The value, parsed; a bad one is a 400 naming the first bad field (`body.decision: …`). */
export function parseInput<S extends z.ZodType>(schema: S, value: unknown, where: string): z.output<S> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  throw new ApiError('invalid_request', describeIssue(parsed.error.issues[0]!, where));
}
