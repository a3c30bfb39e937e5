import { ErrorTypes, failure } from '../../errors';
import { abortError } from './failures';

/** One generation at a time; at most `maxQueue` waiting; a waiter whose signal aborts leaves the queue. */
export class Gate {
  private busy = false;
  private readonly waiters: { grant: () => void }[] = [];

  acquire(signal: AbortSignal, maxQueue: number): Promise<() => void> {
    if (signal.aborted) return Promise.reject(abortError(signal));
    if (!this.busy) {
      this.busy = true;
      return Promise.resolve(this.releaser());
    }
    if (this.waiters.length >= maxQueue) {
      return Promise.reject(
        failure(
          ErrorTypes.ProviderUnavailable,
          `the embedded model is busy: ${this.waiters.length} requests already wait (maxQueue ${maxQueue})`,
        ),
      );
    }
    return new Promise((resolve, reject) => {
      const waiter = {
        grant: () => {
          signal.removeEventListener('abort', onAbort);
          resolve(this.releaser());
        },
      };
      const onAbort = () => {
        const index = this.waiters.indexOf(waiter);
        if (index >= 0) this.waiters.splice(index, 1);
        reject(abortError(signal));
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(waiter);
    });
  }

  private releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiters.shift();
      if (next) next.grant();
      else this.busy = false;
    };
  }
}
