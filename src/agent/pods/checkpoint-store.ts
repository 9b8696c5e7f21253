// Files the agent keeps to run its pods without the server (see checkpoint.ts): one file per object
// under <dir>/<kind>/, JSON, or sealed with the node key for the kinds that hold secrets. A file is
// written only when what it holds changes (an SD card wears with every write): the store keeps what
// each file says in memory and compares. Writes are whole or not at all (a temporary file, fsync,
// rename), so a power cut leaves the old version or the new one. They are made behind the caller,
// one after the other, so that no pod waits for the disk to start (flushed() waits for them).
import fs from 'node:fs';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { log } from '../../log.js';
import { writeAtomic } from '../join.js';
import type { NodeKey } from './node-key.js';

export type CheckpointKind = 'pods' | 'configmaps' | 'secrets' | 'claims' | 'volumes' | 'services' | 'tokens';

/** Kinds whose files are sealed with the node key: they hold secrets (Secrets, service account tokens). */
const SEALED: ReadonlySet<CheckpointKind> = new Set(['secrets', 'tokens']);

export class CheckpointStore {
  private readonly entries = new Map<CheckpointKind, Map<string, unknown>>();
  /** Files to write (or, null, to remove) in the order asked; a file asked again before its turn is written once. */
  private readonly due = new Map<string, Buffer | null>();
  private draining: Promise<void> | undefined;
  /** Files written since start (tests check that nothing is rewritten for nothing). */
  writes = 0;

  constructor(
    private readonly dir: string,
    private readonly key: NodeKey,
  ) {
    for (const kind of ['pods', 'configmaps', 'secrets', 'claims', 'volumes', 'services', 'tokens'] as const) this.load(kind);
  }

  get<T>(kind: CheckpointKind, key: string): T | undefined {
    return this.kind(kind).get(key) as T | undefined;
  }

  keys(kind: CheckpointKind): string[] {
    return [...this.kind(kind).keys()];
  }

  values<T>(kind: CheckpointKind): T[] {
    return [...this.kind(kind).values()] as T[];
  }

  /** Keeps `value` under `key`; answers whether a file was written (false: it was already so). */
  put(kind: CheckpointKind, key: string, value: unknown): boolean {
    const entries = this.kind(kind);
    const plain = JSON.parse(JSON.stringify(value)) as unknown;
    if (entries.has(key) && isDeepStrictEqual(entries.get(key), plain)) return false;
    const file = this.file(kind, key);
    const text = Buffer.from(JSON.stringify(plain));
    this.schedule(file, SEALED.has(kind) ? this.key.seal(text, this.sealName(kind, key)) : text);
    entries.set(key, plain);
    this.writes++;
    return true;
  }

  remove(kind: CheckpointKind, key: string): void {
    if (!this.kind(kind).delete(key)) return;
    this.schedule(this.file(kind, key), null);
  }

  /** Once every write asked for so far is on the disk. */
  async flushed(): Promise<void> {
    while (this.draining) await this.draining;
  }

  private schedule(file: string, data: Buffer | null): void {
    this.due.delete(file); // its turn moves to now
    this.due.set(file, data);
    this.draining ??= this.drain();
  }

  private async drain(): Promise<void> {
    for (let next = this.due.entries().next(); !next.done; next = this.due.entries().next()) {
      const [file, data] = next.value;
      this.due.delete(file);
      try {
        if (data) await writeDurably(file, data);
        else await fs.promises.rm(file, { force: true });
      } catch (err) {
        log.warn({ file, err: (err as Error).message }, 'checkpoint: cannot write a file');
      }
    }
    this.draining = undefined;
  }

  private kind(kind: CheckpointKind): Map<string, unknown> {
    let entries = this.entries.get(kind);
    if (!entries) this.entries.set(kind, (entries = new Map()));
    return entries;
  }

  private file(kind: CheckpointKind, key: string): string {
    return path.join(this.dir, kind, `${encodeURIComponent(key)}${SEALED.has(kind) ? '.sealed' : '.json'}`);
  }

  /** Sealed data is bound to its kind and key: a file renamed to another object's name does not open. */
  private sealName(kind: CheckpointKind, key: string): string {
    return `${kind}/${key}`;
  }

  private load(kind: CheckpointKind): void {
    const dir = path.join(this.dir, kind);
    const suffix = SEALED.has(kind) ? '.sealed' : '.json';
    if (!fs.existsSync(dir)) return;
    for (const name of fs.readdirSync(dir)) {
      if (!name.endsWith(suffix)) {
        // A temporary file of a write cut short.
        if (name.includes('.tmp-')) fs.rmSync(path.join(dir, name), { force: true });
        continue;
      }
      const key = decodeURIComponent(name.slice(0, -suffix.length));
      try {
        const raw = fs.readFileSync(path.join(dir, name));
        const text = SEALED.has(kind) ? this.key.open(raw, this.sealName(kind, key)) : raw;
        this.kind(kind).set(key, JSON.parse(text.toString()));
      } catch (err) {
        log.warn({ file: path.join(dir, name), err: (err as Error).message }, 'checkpoint: cannot read a file, ignoring it');
      }
    }
  }
}

/** Writes `file` whole and durably, its folder made for root only if missing. */
async function writeDurably(file: string, data: Buffer): Promise<void> {
  await fs.promises.mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  await writeAtomic(file, data, 0o600);
}
