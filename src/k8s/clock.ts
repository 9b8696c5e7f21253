// The time source of code that waits or measures (leader election, backoffs, cron schedules, work
// queue delays), so that tests can move time instead of sleeping through it.
import { onAbort } from './abort.js';

export interface Clock {
  /** Milliseconds since the epoch, as Date.now(). */
  now(): number;
  /** Waits ms, or less if the signal aborts first (it never rejects). */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/** Waits ms, or less if the signal aborts first. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    if (signal) onAbort(signal, done);
  });
}

/** The wall clock and real timers: the default everywhere outside tests. */
export const realClock: Clock = { now: () => Date.now(), sleep };
