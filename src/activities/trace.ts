// types only: with telemetry off, no OpenTelemetry module is loaded at all
import type { Attributes, Span, SpanStatusCode, Tracer } from '@opentelemetry/api';
import { ApplicationFailure } from '@temporalio/common';
import { redactSecrets } from '../shared/secrets';

/**
 * What the model and tool activities need to trace their calls: a tracer, and whether prompts, tool
 * arguments and outputs may go into spans. Absent when telemetry is off: then no span is made at all.
 */
export interface ActivityTracing {
  tracer: Tracer;
  includeContent: boolean;
}

/** `SpanStatusCode.ERROR`, without loading the API module for its enum. */
const STATUS_ERROR = 2 as SpanStatusCode;

/** A content attribute longer than this is cut: a span is a summary, not a copy of the transcript. */
export const MAX_CONTENT_ATTRIBUTE_CHARS = 16 * 1024;

/**
 * Runs `work` in a span named `name` (a child of the activity's span, through the active context),
 * ended when it ends, with error status (and the failure's type) when it throws. Without tracing,
 * it is `work(undefined)`.
 */
export async function inSpan<T>(
  tracing: ActivityTracing | undefined,
  name: string,
  attributes: Attributes,
  work: (span: Span | undefined) => Promise<T>,
): Promise<T> {
  if (!tracing) return work(undefined);
  return tracing.tracer.startActiveSpan(name, { attributes }, async (span) => {
    try {
      return await work(span);
    } catch (err) {
      markFailed(span, err, tracing.includeContent);
      throw err;
    } finally {
      span.end();
    }
  });
}

/**
 * Error status with the failure's type (`error.type`). Its message may quote content (a path, a
 * provider's answer), so it is kept only when content is; secrets are scrubbed from it either way.
 */
function markFailed(span: Span, err: unknown, includeContent: boolean): void {
  const type =
    err instanceof ApplicationFailure && err.type ? err.type : err instanceof Error ? err.name : 'Error';
  span.setAttribute('error.type', type);
  const message = err instanceof Error ? err.message : String(err);
  span.setStatus({ code: STATUS_ERROR, message: includeContent ? redactSecrets(message) : type });
}

/** Sets a content attribute (JSON of `value`) only when the configuration lets content into spans. */
export function setContent(
  span: Span | undefined,
  tracing: ActivityTracing | undefined,
  key: string,
  value: unknown,
): void {
  if (!span || !tracing?.includeContent) return;
  // scrubbed before it is cut: a cut could split a key, leaving part of it unrecognised
  let text = redactSecrets(typeof value === 'string' ? value : (JSON.stringify(value) ?? String(value)));
  if (text.length > MAX_CONTENT_ATTRIBUTE_CHARS)
    text = `${text.slice(0, MAX_CONTENT_ATTRIBUTE_CHARS)}… (${text.length - MAX_CONTENT_ATTRIBUTE_CHARS} more characters)`;
  span.setAttribute(key, text);
}
