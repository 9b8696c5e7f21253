// The browser's client of the Kubernetes API: same origin, the signed-in bearer token on every
// request, so the token's own RBAC decides what the dashboard shows.
import { type KubeList, LiveList, WatchExpired } from './live-list.js';
import { type KubeObject, WatchDecoder, type WatchEvent } from './watch-stream.js';

/** A failed request, with the message of the server's Status when it sent one. */
export class ApiRequestError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export type FetchFn = (input: string, init?: RequestInit) => Promise<Response>;

export class ApiClient {
  constructor(
    private readonly token: string,
    private readonly fetchFn: FetchFn = (input, init) => fetch(input, init),
  ) {}

  async request(path: string, init: RequestInit = {}): Promise<Response> {
    const headers = { ...(init.headers as Record<string, string>), authorization: `Bearer ${this.token}` };
    const res = await this.fetchFn(path, { ...init, headers });
    if (!res.ok) throw new ApiRequestError(res.status, await failureMessage(res));
    return res;
  }

  async json<T = unknown>(path: string, init?: RequestInit): Promise<T> {
    return (
      await this.request(path, { ...init, headers: { accept: 'application/json', ...(init?.headers as object) } })
    ).json() as Promise<T>;
  }

  /** Calls `onEvent` for each event of a watch from `resourceVersion` until the stream ends or `signal` aborts. */
  async watch<T = KubeObject>(
    path: string,
    resourceVersion: string,
    onEvent: (e: WatchEvent<T>) => void,
    signal: AbortSignal,
  ): Promise<void> {
    const sep = path.includes('?') ? '&' : '?';
    const url = `${path}${sep}watch=true&allowWatchBookmarks=true&resourceVersion=${encodeURIComponent(resourceVersion)}`;
    const res = await this.request(url, { signal });
    const decoder = new WatchDecoder<T>();
    await readStream(res, signal, (chunk) => decoder.push(chunk).forEach(onEvent));
    decoder.end().forEach(onEvent);
  }

  /**
   * Keeps a list of `path` current until `signal` aborts: list, then watch from its resourceVersion,
   * resuming after a stream ends and listing again when the watch expired. `onChange` gets the
   * items after the list and after each change; `onError` gets a failure, retried after a pause.
   */
  async liveList<T extends KubeObject>(
    path: string,
    onChange: (items: T[]) => void,
    onError: (err: Error) => void,
    signal: AbortSignal,
  ): Promise<void> {
    const live = new LiveList<T>();
    let listed = false;
    while (!signal.aborted) {
      try {
        if (!listed) {
          live.reset(await this.json<KubeList<T>>(path, { signal }));
          listed = true;
          onChange(live.items);
        }
        await this.watch<T>(path, live.resourceVersion, (e) => live.apply(e) && onChange(live.items), signal);
      } catch (err) {
        if (signal.aborted) return;
        if (err instanceof WatchExpired) {
          listed = false;
          continue;
        }
        onError(err as Error);
        listed = false;
        await pause(err instanceof ApiRequestError && err.status === 403 ? 10_000 : 2_000, signal);
      }
    }
  }

  /** Streams text (a log with follow=true) to `onText` until it ends or `signal` aborts. */
  async stream(path: string, onText: (text: string) => void, signal: AbortSignal): Promise<void> {
    const res = await this.request(path, { signal });
    const decoder = new TextDecoder();
    await readStream(res, signal, (chunk) => onText(decoder.decode(chunk, { stream: true })));
  }
}

async function readStream(res: Response, signal: AbortSignal, onChunk: (chunk: Uint8Array) => void): Promise<void> {
  const reader = res.body!.getReader();
  const stop = () => void reader.cancel().catch(() => {});
  signal.addEventListener('abort', stop, { once: true });
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      onChunk(value);
    }
  } finally {
    signal.removeEventListener('abort', stop);
  }
}

async function failureMessage(res: Response): Promise<string> {
  const text = await res.text().catch(() => '');
  try {
    const status = JSON.parse(text) as { message?: string };
    if (status.message) return status.message;
  } catch {}
  return text.trim() || `${res.status} ${res.statusText}`;
}

const pause = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(resolve, ms);
    const stop = () => {
      clearTimeout(timer);
      resolve();
    };
    signal.addEventListener('abort', stop, { once: true });
  });
