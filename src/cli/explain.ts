import { StewardError } from '../errors';

export interface ExplainOptions {
  /** With --debug: the stack trace (and its causes') after the line. */
  debug?: boolean;
}

/**
 * What the CLI prints for an error. A StewardError is something a person can act on: one line, its
 * message, and its hint on the next (`  → …`). Anything else is unexpected: one line that says so.
 * Stack traces only with --debug.
 */
export function explain(err: unknown, { debug = false }: ExplainOptions = {}): string {
  const lines =
    err instanceof StewardError
      ? [`steward: ${err.message}`, ...(err.hint ? [`  → ${err.hint}`] : [])]
      : [
          `steward: unexpected error: ${messageOf(err)}` +
            (debug ? '' : ' (run with --debug for the stack trace)'),
        ];
  if (debug) lines.push(...traces(err));
  return lines.join('\n');
}

/** The message, with its causes' (fetch and gRPC put the useful part there). */
function messageOf(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const causes: string[] = [];
  for (let cause = err.cause, depth = 0; cause instanceof Error && depth < 5; cause = cause.cause, depth++) {
    if (cause.message && !err.message.includes(cause.message)) causes.push(cause.message);
  }
  return [err.message || err.name, ...causes].join(': ');
}

function traces(err: unknown): string[] {
  const out: string[] = [];
  for (let e = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    out.push(`${depth === 0 ? '' : 'caused by: '}${e.stack ?? `${e.name}: ${e.message}`}`);
  }
  return out;
}
