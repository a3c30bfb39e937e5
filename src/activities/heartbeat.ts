import { Context } from '@temporalio/activity';

/**
 * Heartbeats from the first moment of an activity until it ends, so a dead worker is noticed within
 * the heartbeat timeout and a cancel reaches the activity even before any progress is made.
 */
export async function withHeartbeat<T>(work: (beat: (details?: unknown) => void) => Promise<T>): Promise<T> {
  const context = Context.current();
  let last: unknown;
  const beat = (details?: unknown): void => {
    last = details ?? last;
    context.heartbeat(last);
  };
  beat();
  const timer = setInterval(() => beat(), 1000);
  try {
    return await work(beat);
  } finally {
    clearInterval(timer);
  }
}
