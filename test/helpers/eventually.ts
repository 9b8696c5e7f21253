// Waiting for a condition in a test. Why one helper: a wait that times out must fail the test and
// say what it saw last, never hand back undefined for a later assertion to trip over (or not).

export interface EventuallyOptions {
  /** How long to keep trying, in ms (default 60 s). */
  timeout?: number;
  /** What is awaited, for the failure message. */
  what?: string;
  /** More to say on failure (e.g. `kubectl describe` of the pod awaited), appended to the error. */
  explain?: () => string | Promise<string>;
}

/**
 * Calls `fn` until it returns (or resolves to) a truthy value, and answers that value. A call that
 * throws counts as not yet. Tries at once, then every 20 ms growing to 250 ms. After `timeout` ms
 * it rejects with an error naming `what` and the last error thrown, or else the last value.
 */
export async function eventually<T>(fn: () => T | Promise<T>, opts: EventuallyOptions = {}): Promise<NonNullable<T>> {
  const timeout = opts.timeout ?? 60_000;
  const end = Date.now() + timeout;
  let pause = 20;
  let last: { error: unknown } | { value: unknown } = { value: undefined };
  for (;;) {
    try {
      const value = await fn();
      if (value) return value as NonNullable<T>;
      last = { value };
    } catch (error) {
      last = { error };
    }
    if (Date.now() >= end) break;
    await new Promise((r) => setTimeout(r, Math.min(pause, Math.max(0, end - Date.now()))));
    pause = Math.min(pause * 1.5, 250);
  }
  const seen =
    'error' in last
      ? `last error: ${last.error instanceof Error ? last.error.message : String(last.error)}`
      : `last value: ${describe(last.value)}`;
  let message = `timed out after ${timeout} ms waiting for ${opts.what ?? 'a condition'}; ${seen}`;
  if (opts.explain)
    message += `\n${await Promise.resolve()
      .then(opts.explain)
      .catch((err: Error) => `(could not explain: ${err.message})`)}`;
  const err = new Error(message);
  if ('error' in last) err.cause = last.error;
  throw err;
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 2000 ? `${value.slice(0, 2000)}...` : value);
  try {
    const json = JSON.stringify(value);
    return json === undefined ? String(value) : json.length > 2000 ? `${json.slice(0, 2000)}...` : json;
  } catch {
    return String(value);
  }
}
