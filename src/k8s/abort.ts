// Reacting to an AbortSignal that may already have fired: a listener added after the abort is never
// called, so a loop started in the same moment as a shutdown would otherwise run on forever.

/** Calls `fn` once when `signal` aborts, at once if it already has. */
export function onAbort(signal: AbortSignal, fn: () => void): void {
  if (signal.aborted) fn();
  else signal.addEventListener('abort', fn, { once: true });
}
