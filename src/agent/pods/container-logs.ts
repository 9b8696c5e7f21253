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

/**
 * Turns CRI log records into output as the kubelet writes it: a partial record's text at once
 * (a program that prints no newline before it waits is still seen), a full one's with its newline,
 * and with `timestamps` the time of the record that starts each line.
 */
class LogDecoder {
  private atLineStart = true;

  constructor(private readonly opts: LogOptions) {}

  /** Feeds records of the file (without their newline); answers one output piece per record. */
  push(lines: string[]): string[] {
    const out: string[] = [];
    for (const line of lines) {
      const m = /^(\S+) (stdout|stderr) ([PF]) ?(.*)$/.exec(line);
      if (!m) continue;
      const [, time, , tag, content] = m;
      const startsLine = this.atLineStart;
      this.atLineStart = tag === 'F';
      if (this.opts.since && new Date(time!) < this.opts.since) continue;
      out.push(`${this.opts.timestamps && startsLine ? `${time} ` : ''}${content}${tag === 'F' ? '\n' : ''}`);
    }
    return out;
  }
}

/** The last `n` lines of `text`, an unfinished last line counting as one. */
function lastLines(text: string, n: number): string[] {
  return n === 0 ? [] : (text.match(/[^\n]*\n|[^\n]+$/g) ?? []).slice(-n);
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
    if (opts.tailLines !== undefined) lines = lastLines(lines.join(''), opts.tailLines);
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
