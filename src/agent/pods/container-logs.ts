// Reading a container's CRI log file (`<time> <stream> <P|F> <text>` per line, P for a partial line
// continued by the next) the way `kubectl logs` asks for it: tail, since, timestamps, a byte limit,
// and follow, which waits for more until the container has stopped and all of it was sent.
import fs from 'node:fs';
import { sleep } from '../../client/sleep.js';

export interface LogOptions {
  follow?: boolean;
  tailLines?: number;
  /** Only lines logged at or after this time. */
  since?: Date;
  timestamps?: boolean;
  limitBytes?: number;
}

const FOLLOW_POLL_MS = 250;

/** Turns CRI log lines into output lines, joining partial lines. */
class LogDecoder {
  private pending = '';
  private partial = '';
  private partialTime = '';

  constructor(private readonly opts: LogOptions) {}

  /** Feeds file bytes; answers the complete output lines they finish. */
  push(text: string): string[] {
    const lines = (this.pending + text).split('\n');
    this.pending = lines.pop()!;
    const out: string[] = [];
    for (const line of lines) {
      const m = /^(\S+) (stdout|stderr) ([PF]) ?(.*)$/.exec(line);
      if (!m) continue;
      const [, time, , tag, content] = m;
      if (tag === 'P') {
        if (!this.partial) this.partialTime = time!;
        this.partial += content;
        continue;
      }
      const full = this.partial + content;
      const at = this.partial ? this.partialTime : time!;
      this.partial = '';
      if (this.opts.since && new Date(at) < this.opts.since) continue;
      out.push(`${this.opts.timestamps ? `${at} ` : ''}${full}\n`);
    }
    return out;
  }
}

/** The requested output, chunk by chunk; `running` says whether more may still come. */
export async function* containerLog(file: string, opts: LogOptions, running: () => Promise<boolean>, signal: AbortSignal): AsyncGenerator<string> {
  const decoder = new LogDecoder(opts);
  let offset = 0;
  let budget = opts.limitBytes ?? Infinity;
  const take = (lines: string[]): string => {
    let text = lines.join('');
    if (Buffer.byteLength(text) > budget) text = Buffer.from(text).subarray(0, budget).toString();
    budget -= Buffer.byteLength(text);
    return text;
  };
  const readMore = (): string => {
    if (!fs.existsSync(file)) return '';
    const size = fs.statSync(file).size;
    if (size <= offset) return '';
    const fd = fs.openSync(file, 'r');
    try {
      const buf = Buffer.alloc(size - offset);
      fs.readSync(fd, buf, 0, buf.length, offset);
      offset = size;
      return buf.toString();
    } finally {
      fs.closeSync(fd);
    }
  };
  let lines = decoder.push(readMore());
  if (opts.tailLines !== undefined) lines = opts.tailLines === 0 ? [] : lines.slice(-opts.tailLines);
  const first = take(lines);
  if (first) yield first;
  if (!opts.follow) return;
  while (!signal.aborted && budget > 0) {
    const more = take(decoder.push(readMore()));
    if (more) {
      yield more;
      continue;
    }
    if (!(await running())) {
      const rest = take(decoder.push(readMore()));
      if (rest) yield rest;
      return;
    }
    await sleep(FOLLOW_POLL_MS, signal);
  }
}
