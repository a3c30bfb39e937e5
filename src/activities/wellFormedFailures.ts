import { wellFormedText } from '../shared/unicode';

/**
 * A failure leaves the worker as protobuf strings (message, stack trace), which must be valid
 * Unicode: one lone surrogate in a message (a path a model made up, echoed by a tool's error) made
 * the worker's core refuse the completion and the whole worker stop. Every activity's error is
 * mended on its way out, its causes too; the value is U+FFFD where the surrogate was.
 */
function mend(err: unknown, depth = 0): unknown {
  if (!(err instanceof Error) || depth > 16) return err;
  err.message = wellFormedText(err.message);
  if (err.stack) err.stack = wellFormedText(err.stack);
  mend(err.cause, depth + 1);
  return err;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Activity = (...args: any[]) => Promise<unknown>;

export function withWellFormedFailures<T extends Record<string, Activity>>(activities: T): T {
  const out: Record<string, Activity> = {};
  for (const [name, activity] of Object.entries(activities)) {
    out[name] = async (...args) => {
      try {
        return await activity(...args);
      } catch (err) {
        throw mend(err);
      }
    };
    // the SDK names an activity by its key, so the wrapper keeps the function's name for logs only
    Object.defineProperty(out[name], 'name', { value: activity.name || name });
  }
  return out as T;
}
