// A Kubernetes watch (?watch=true) answers a stream of JSON lines, one event each, split across
// network chunks anywhere: this turns the chunks back into whole events.

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: { name: string; namespace?: string; resourceVersion?: string; uid?: string; [k: string]: unknown };
  [k: string]: unknown;
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';

export interface WatchEvent<T = KubeObject> {
  type: WatchEventType;
  object: T;
}

/** Bytes in, complete events out; a line cut by a chunk boundary waits for its end. */
export class WatchDecoder<T = KubeObject> {
  private readonly text = new TextDecoder();
  private pending = '';

  push(chunk: Uint8Array | string): WatchEvent<T>[] {
    this.pending += typeof chunk === 'string' ? chunk : this.text.decode(chunk, { stream: true });
    const lines = this.pending.split('\n');
    this.pending = lines.pop()!;
    return lines.flatMap((line) => parseLine<T>(line));
  }

  /** The stream ended: a last line without its newline is still an event. */
  end(): WatchEvent<T>[] {
    const rest = this.pending + this.text.decode();
    this.pending = '';
    return parseLine<T>(rest);
  }
}

function parseLine<T>(line: string): WatchEvent<T>[] {
  if (!line.trim()) return [];
  const event = JSON.parse(line) as WatchEvent<T>;
  if (!event || typeof event.type !== 'string' || typeof event.object !== 'object')
    throw new Error(`not a watch event: ${line.slice(0, 200)}`);
  return [event];
}
