import { Context } from '@temporalio/activity';

/**
 * Heartbeats every second from the start of an activity until it ends (not from its first progress),
 * so a dead worker is noticed within the heartbeat timeout and a cancel reaches the activity even
 * before any progress is made. Model calls also beat at once (DESIGN: from the moment they start);
 * a quick tool that ends within its first second sends none, as each beat is a round trip.
 */
export async function withHeartbeat<T>(
  work: (beat: (details?: unknown) => void) => Promise<T>,
  options: { immediately?: boolean } = {},
): Promise<T> {
  const context = Context.current();
  let last: unknown;
  const beat = (details?: unknown): void => {
    last = details ?? last;
    context.heartbeat(last);
  };
  if (options.immediately) beat();
  const timer = setInterval(() => beat(), 1000);
  try {
    return await work(beat);
  } finally {
    clearInterval(timer);
  }
}
