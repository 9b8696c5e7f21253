// The CRI log file of one container as a follower sees it across rotations. The agent rotates by
// renaming the file and asking containerd to reopen its log, which creates a new file at the same
// path; until containerd has switched, it still appends to the renamed one. So, as the kubelet's
// follower does, an open file that reached its end while the path names another file (another
// inode) is done with and the new file is read from its start. Unlike the kubelet, the old file is
// read to its end first and then kept open a while for lines containerd still flushes into it, and
// a follower that fell behind by more than one rotation (a slow client) also reads the files
// rotated in between, so no line is lost or repeated.
import fs from 'node:fs';
import path from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { rotatedFiles } from './log-rotation.js';

const CHUNK = 1 << 20;
/** How long a rotated-away file is still read after it last grew. */
const RETIRED_IDLE_MS = 5000;

/** One open file, read on from where the last read stopped; the descriptor survives renames. */
class OpenFile {
  private offset = 0;
  private pending = '';
  private readonly utf8 = new StringDecoder('utf8');
  readonly ino: number;
  readonly dev: number;
  lastGrowth = Date.now();

  constructor(readonly fd: number) {
    const st = fs.fstatSync(fd);
    this.ino = st.ino;
    this.dev = st.dev;
  }

  is(st: fs.Stats | undefined): boolean {
    return !!st && st.ino === this.ino && st.dev === this.dev;
  }

  static open(file: string): OpenFile | undefined {
    try {
      return new OpenFile(fs.openSync(file, 'r'));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  /** The complete lines appended since the last call (an unfinished last line waits for its end). */
  drain(into: string[]): void {
    for (;;) {
      const size = fs.fstatSync(this.fd).size;
      if (size <= this.offset) return;
      const buf = Buffer.allocUnsafe(Math.min(size - this.offset, CHUNK));
      const n = fs.readSync(this.fd, buf, 0, buf.length, this.offset);
      if (n === 0) return;
      this.offset += n;
      this.lastGrowth = Date.now();
      const lines = (this.pending + this.utf8.write(buf.subarray(0, n))).split('\n');
      this.pending = lines.pop()!;
      for (const l of lines) into.push(l);
    }
  }

  close(): void {
    fs.closeSync(this.fd);
  }
}

export class LogFiles {
  private current: OpenFile | undefined;
  /** Files rotated away, oldest first, read before the current one. */
  private retired: OpenFile[] = [];

  constructor(readonly file: string) {}

  /** The lines written since the last call, in file order: a rotated file's last lines before the new file's. */
  read(): string[] {
    const out: string[] = [];
    for (const r of this.retired) r.drain(out);
    this.current ??= OpenFile.open(this.file);
    if (!this.current) return out;
    this.current.drain(out);
    // At the end of the file: has containerd reopened the log as a new file at the path?
    const st = fs.statSync(this.file, { throwIfNoEntry: false });
    if (st && !this.current.is(st)) {
      const next = OpenFile.open(this.file);
      if (next) {
        // Whatever reached the old file meanwhile comes before the newer files' lines.
        this.current.drain(out);
        const between = this.rotatedBetween(this.current, next);
        this.retired.push(this.current, ...between);
        for (const f of between) f.drain(out);
        this.current = next;
        next.drain(out);
      }
    }
    const now = Date.now();
    this.retired = this.retired.filter((r) => {
      if (now - r.lastGrowth < RETIRED_IDLE_MS) return true;
      r.close();
      return false;
    });
    return out;
  }

  /** Files rotated after `old` and before `next` (when the follower missed a rotation). */
  private rotatedBetween(old: OpenFile, next: OpenFile): OpenFile[] {
    const rotated = rotatedFiles(this.file).map((f) => ({ f, st: fs.statSync(f, { throwIfNoEntry: false }) }));
    // Pruning removes the oldest files first: if `old` is gone, all that are left came after it.
    const from = rotated.findIndex((r) => old.is(r.st)) + 1;
    const to = rotated.findIndex((r) => next.is(r.st));
    return rotated
      .slice(from, to < 0 ? undefined : to)
      .filter((r) => !this.retired.some((x) => x.is(r.st)))
      .map((r) => OpenFile.open(r.f))
      .filter((f): f is OpenFile => !!f);
  }

  close(): void {
    for (const r of this.retired) r.close();
    this.current?.close();
    this.retired = [];
    this.current = undefined;
  }
}

/** Wakes a follower when something in the log's folder changes, or after `ms` at the latest. */
export class LogWaker {
  private watcher: fs.FSWatcher | undefined;
  private changed = false;
  private wake: (() => void) | undefined;

  constructor(file: string) {
    try {
      // The folder, not the file: a watch on the file would stay with the renamed one.
      this.watcher = fs.watch(path.dirname(file), { persistent: false }, () => this.notify());
      this.watcher.on('error', () => this.close());
    } catch {
      // No folder yet, or no inotify: the timeout alone paces the follower.
    }
  }

  private notify(): void {
    this.changed = true;
    this.wake?.();
  }

  wait(ms: number, signal: AbortSignal): Promise<void> {
    if (this.changed || signal.aborted) {
      this.changed = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        this.wake = undefined;
        this.changed = false;
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal.addEventListener('abort', done, { once: true });
      this.wake = done;
    });
  }

  close(): void {
    this.watcher?.close();
    this.watcher = undefined;
  }
}
