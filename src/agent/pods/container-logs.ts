// Reading a container's CRI log file (`<time> <stream> <P|F> <text>` per line, P for a partial line
// continued by the next) the way `kubectl logs` asks for it: tail, since, timestamps, a byte limit,
// and follow, which waits for more until the container has stopped and all of it was sent, and
// goes on in the new file when the log is rotated (log-files.ts).
import { LogFiles, LogWaker } from './log-files.js';

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
  private partial = '';
  private partialTime = '';

  constructor(private readonly opts: LogOptions) {}

  /** Feeds lines of the file (without their newline); answers the output lines they finish. */
  push(lines: string[]): string[] {
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
export async function* containerLog(
  file: string,
  opts: LogOptions,
  running: () => Promise<boolean>,
  signal: AbortSignal,
): AsyncGenerator<string> {
  const decoder = new LogDecoder(opts);
  const files = new LogFiles(file);
  const waker = opts.follow ? new LogWaker(file) : undefined;
  let budget = opts.limitBytes ?? Infinity;
  const take = (lines: string[]): string => {
    let text = lines.join('');
    if (Buffer.byteLength(text) > budget) text = Buffer.from(text).subarray(0, budget).toString();
    budget -= Buffer.byteLength(text);
    return text;
  };
  /** Everything there is to read now, across rotations. */
  const readAll = (): string[] => {
    let lines: string[] = [];
    // concat, not push(...): a whole file can be more lines than a call takes arguments.
    for (let more = files.read(); more.length; more = files.read()) lines = lines.concat(decoder.push(more));
    return lines;
  };
  try {
    let lines = readAll();
    if (opts.tailLines !== undefined) lines = opts.tailLines === 0 ? [] : lines.slice(-opts.tailLines);
    const first = take(lines);
    if (first) yield first;
    if (!opts.follow) return;
    let checked = 0;
    while (!signal.aborted && budget > 0) {
      const read = files.read();
      const more = take(decoder.push(read));
      if (more) yield more;
      if (read.length) continue;
      // Nothing new: is the container still there to write more? (Asked at most once a poll period.)
      if (Date.now() - checked >= FOLLOW_POLL_MS) {
        checked = Date.now();
        if (!(await running())) {
          const rest = take(readAll());
          if (rest) yield rest;
          return;
        }
      }
      await waker!.wait(FOLLOW_POLL_MS, signal);
    }
  } finally {
    waker?.close();
    files.close();
  }
}
