import { Context } from '@temporalio/activity';

/**
 * Heartbeats every second from the start of an activity until it ends (not from its first progress),
 * so a dead worker is noticed within the heartbeat timeout and a cancel reaches the activity even
 * before any progress is made. A step that ends within its first second sends no heartbeat at all:
 * each one is a round trip to the server.
 */
export async function withHeartbeat<T>(work: (beat: (details?: unknown) => void) => Promise<T>): Promise<T> {
  const context = Context.current();
  let last: unknown;
  const beat = (details?: unknown): void => {
    last = details ?? last;
    context.heartbeat(last);
  };
  const timer = setInterval(() => beat(), 1000);
  try {
    return await work(beat);
  } finally {
    clearInterval(timer);
  }
}
