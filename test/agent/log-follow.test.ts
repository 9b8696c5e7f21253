// `kubectl logs -f` on the node across log rotations, without containerd: the test plays containerd
// (appending CRI lines through an open descriptor, and on "reopen" creating a new file at the path)
// and the agent's rotation (renaming the file away, pruning old files), and checks that the follower
// passes every line exactly once and in order.
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { containerLog } from '../../src/agent/pods/container-logs.js';
import { eventually } from '../helpers/eventually.js';
import { tempDir } from '../helpers/tmp.js';

/** A stand-in for containerd's log writer: appends through its descriptor, whatever the file is called now. */
class Writer {
  private fd: number;
  private n = 0;
  constructor(private readonly file: string) {
    this.fd = fs.openSync(file, 'a');
  }
  /** Numbered lines, in CRI format. */
  lines(count: number): void {
    let text = '';
    for (let i = 0; i < count; i++) text += `2026-01-01T00:00:00.${String(++this.n).padStart(9, '0')}Z stdout F line ${this.n}\n`;
    fs.writeSync(this.fd, text);
  }
  /** A line split in two CRI records (as containerd does with long lines). */
  partial(part: 'P' | 'F', text: string): void {
    fs.writeSync(this.fd, `2026-01-01T00:00:01Z stdout ${part} ${text}\n`);
  }
  /** ReopenContainerLog: a new file at the path, the old one closed. */
  reopen(): void {
    const old = this.fd;
    this.fd = fs.openSync(this.file, 'a');
    fs.closeSync(old);
  }
  get written(): number {
    return this.n;
  }
  close(): void {
    fs.closeSync(this.fd);
  }
}

const numbers = (n: number, from = 1) => Array.from({ length: n - from + 1 }, (_, i) => `line ${from + i}\n`).join('');

/** Follows `file` as the agent does for a running container; `got()` is what arrived so far. */
function follow(file: string, opts = {}) {
  let alive = true;
  let got = '';
  const ac = new AbortController();
  const done = (async () => {
    for await (const chunk of containerLog(file, { follow: true, ...opts }, async () => alive, ac.signal)) got += chunk;
  })();
  return {
    got: () => got,
    /** Waits until the output ends with `tail`. */
    until: (tail: string) =>
      eventually(() => got.endsWith(tail), { timeout: 20_000, what: `the follower to print ${JSON.stringify(tail)}` }),
    /** The container exits: the follower drains what is left and ends by itself. */
    async exit() {
      alive = false;
      await done;
      return got;
    },
    /** Waits for the follower to end by itself. */
    ended: () => done.then(() => got),
    abort: () => ac.abort(),
  };
}

t.test('a follower goes on in the new file after each rotation, losing and repeating nothing', async (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, '0.log');
  const w = new Writer(file);
  w.lines(5);
  const f = follow(file);
  t.teardown(() => f.abort());
  await f.until('line 5\n');
  t.equal(f.got(), numbers(5), 'what was there when following began');

  // Several rotations in a row, each with lines written just before the rename and between the
  // rename and the reopen (containerd still has the old file open), none of them seen yet.
  for (let r = 1; r <= 3; r++) {
    w.lines(50);
    fs.renameSync(file, `${file}.${r}`);
    w.lines(3);
    w.reopen();
    w.lines(50);
  }
  await f.until(`line ${w.written}\n`);
  t.equal(f.got(), numbers(w.written), 'three rotations at once: every line once, in order');

  // The follower waits at the end of the file while the path names no file (renamed, not reopened yet).
  w.lines(2);
  fs.renameSync(file, `${file}.4`);
  w.lines(2);
  await f.until(`line ${w.written}\n`);
  w.partial('P', 'a long li');
  w.reopen();
  w.partial('F', 'ne across files');
  // The agent prunes old files right away; the follower still holds the one it reads.
  for (const old of fs.readdirSync(dir).filter((x) => x !== '0.log')) fs.rmSync(path.join(dir, old));
  w.lines(10);
  await f.until(`line ${w.written}\n`);
  t.equal(
    f.got(),
    `${numbers(w.written - 10)}a long line across files\n${numbers(w.written, w.written - 9)}`,
    'a line split across the rotation is joined',
  );

  // Two rotations while the follower was busy, and the file it was reading already pruned: what is
  // left was rotated after it, and is read before the current file.
  const seen = f.got();
  w.lines(5);
  fs.renameSync(file, `${file}.6`);
  w.reopen();
  w.lines(5);
  fs.renameSync(file, `${file}.7`);
  w.reopen();
  fs.rmSync(`${file}.6`);
  w.lines(5);
  await f.until(`line ${w.written}\n`);
  t.equal(f.got(), seen + numbers(w.written, w.written - 14), 'the files in between are read, in order');

  // A rotation right before the container exits is still drained.
  const before = f.got();
  w.lines(5);
  fs.renameSync(file, `${file}.8`);
  w.reopen();
  w.lines(5);
  w.close();
  const all = await f.exit();
  t.equal(all, before + numbers(w.written, w.written - 9), 'it ends once the container has exited and both files are read');
});

t.test('a follower that starts before the file exists, and one with a byte limit across rotations', async (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, '0.log');
  const f = follow(file);
  t.teardown(() => f.abort());
  const w = new Writer(file);
  w.lines(3);
  await f.until('line 3\n');
  fs.renameSync(file, `${file}.1`);
  w.reopen();
  w.lines(3);
  await f.until('line 6\n');
  t.equal(f.got(), numbers(6));

  const limited = follow(file, { limitBytes: numbers(8, 4).length });
  t.teardown(() => limited.abort());
  await limited.until('line 6\n');
  fs.renameSync(file, `${file}.2`);
  w.reopen();
  w.lines(4);
  t.equal(await limited.ended(), numbers(8, 4), 'the current file from its start, then the new one up to the limit, where it ends');
  w.close();
  t.equal(await f.exit(), numbers(10));
});
