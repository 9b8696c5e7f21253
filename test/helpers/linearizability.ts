// A linearizability checker for a set of independent registers (one per key), for fault tests. Each
// key is checked on its own (linearizability is compositional) by Wing & Gong's search as Lowe
// improved it, the way Knossos and Porcupine do: linearize a call that is pending before the first
// return still in the history, backtrack when a return is reached unexplained, and remember every
// (set of linearized operations, register state) already explored so it is never explored twice.
//
// An operation's outcome is what its client knows of it:
// - ok: it took effect once, between its invocation and its completion, with the result recorded;
// - failed: it definitely did not take effect and says nothing of the register (refused before it
//   reached it: connection refused, not found for a plain write, forbidden);
// - unknown: the client gave up (timeout, connection lost): it may have taken effect at any point
//   after its invocation, even after the history ends, or never.

/** A register's value; null while the key is absent. */
export type RegisterValue = string | null;

export type Outcome = 'ok' | 'failed' | 'unknown';

interface Timing {
  key: string;
  /** When the call was made, on a monotonic clock (performance.now()) or a logical counter. */
  invoke: number;
  /** When its answer came back; needed for ok and failed, ignored for unknown. */
  complete?: number;
  outcome: Outcome;
  /** Who called, for messages. */
  client?: string;
}

/** The register's operations; `result` is needed when the outcome is ok (for write there is none). */
export type Operation = Timing &
  (
    | { f: 'read'; result?: RegisterValue }
    | { f: 'write'; value: string }
    /** Sets `value` if the register holds `expected` (result true), else leaves it (result false). */
    | { f: 'cas'; expected: string; value: string; result?: boolean }
    /** Sets `value` if the key is absent (result 'ok'), else leaves it (result 'exists'). */
    | { f: 'create'; value: string; result?: 'ok' | 'exists' }
  );

export interface CheckOptions {
  /** How many search states one key may explore before the check gives up as inconclusive. */
  maxStates?: number;
}

export interface Linearizable {
  ok: true;
  keys: number;
  operations: number;
  /** Search states explored over all keys: the work done, a figure for reports. */
  states: number;
}

export interface NotLinearizable {
  ok: false;
  key: string;
  /** The search hit maxStates before it could decide: not proven wrong, but not proven right. */
  inconclusive: boolean;
  /** The operation whose answer no order explains: the one completing the shortest such prefix. */
  culprit?: Operation;
  /** The key's operations up to the culprit's completion: the shortest prefix not linearizable. */
  prefix: Operation[];
  /** The key, the culprit, and the operations around it, one per line. */
  message: string;
  states: number;
}

export type CheckResult = Linearizable | NotLinearizable;

const DEFAULT_MAX_STATES = 2_000_000;

/** Checks a history of operations on many keys; answers the first key that is not linearizable. */
export function checkRegisters(history: readonly Operation[], opts: CheckOptions = {}): CheckResult {
  const maxStates = opts.maxStates ?? DEFAULT_MAX_STATES;
  const byKey = new Map<string, Operation[]>();
  const index = new Map<Operation, number>();
  history.forEach((op, i) => {
    validate(op, i);
    index.set(op, i);
    const ops = byKey.get(op.key) ?? [];
    ops.push(op);
    byKey.set(op.key, ops);
  });
  let states = 0;
  for (const [key, ops] of byKey) {
    const found = search(ops, maxStates);
    states += found.states;
    if (found.ok) continue;
    return explain(key, ops, index, found.limit, maxStates, states);
  }
  return { ok: true, keys: byKey.size, operations: history.length, states };
}

function validate(op: Operation, i: number): void {
  const bad = (what: string) => new Error(`operation #${i} (${JSON.stringify(op)}): ${what}`);
  if (typeof op.key !== 'string') throw bad('no key');
  if (!Number.isFinite(op.invoke)) throw bad('no invoke time');
  if (op.outcome !== 'ok' && op.outcome !== 'failed' && op.outcome !== 'unknown') throw bad(`unknown outcome ${op.outcome}`);
  if (op.outcome !== 'unknown' && !(Number.isFinite(op.complete) && op.complete! >= op.invoke))
    throw bad('an ok or failed operation needs a completion time no earlier than its invocation');
  if (op.outcome !== 'ok') return;
  if (op.f === 'read' && op.result !== null && typeof op.result !== 'string') throw bad('an ok read needs a string or null result');
  if (op.f === 'cas' && typeof op.result !== 'boolean') throw bad('an ok cas needs a boolean result');
  if (op.f === 'create' && op.result !== 'ok' && op.result !== 'exists') throw bad("an ok create needs the result 'ok' or 'exists'");
}

// The search works on small integers: 0 is absent, 1 any value nobody observes (see search), and
// each value somebody observes has its own number.
const ABSENT = 0;
const UNOBSERVED = 1;
const ILLEGAL = -1;

interface Compiled {
  definite: boolean;
  /** An unknown write of an unobserved value: any one of them does what any other would. */
  interchangeable: boolean;
  invoke: number;
  complete: number;
  /** The state after this operation from `state`, or ILLEGAL where its result rules `state` out. */
  step(state: number): number;
}

/**
 * The operation as a step of the search, or undefined when it cannot matter: a failed one never took
 * effect; an unknown read changes nothing and tells nothing.
 */
function compile(op: Operation, id: (v: RegisterValue) => number): Compiled | undefined {
  if (op.outcome === 'failed') return undefined;
  const definite = op.outcome === 'ok';
  const base = { definite, interchangeable: false, invoke: op.invoke, complete: definite ? op.complete! : Number.POSITIVE_INFINITY };
  switch (op.f) {
    case 'read': {
      if (!definite) return undefined;
      const seen = id(op.result!);
      return { ...base, step: (s) => (s === seen ? s : ILLEGAL) };
    }
    case 'write': {
      const value = id(op.value);
      return { ...base, interchangeable: !definite && value === UNOBSERVED, step: () => value };
    }
    case 'cas': {
      const [expected, value] = [id(op.expected), id(op.value)];
      if (!definite || op.result) return { ...base, step: (s) => (s === expected ? value : ILLEGAL) };
      return { ...base, step: (s) => (s !== expected ? s : ILLEGAL) };
    }
    case 'create': {
      const value = id(op.value);
      if (!definite || op.result === 'ok') return { ...base, step: (s) => (s === ABSENT ? value : ILLEGAL) };
      return { ...base, step: (s) => (s !== ABSENT ? s : ILLEGAL) };
    }
  }
}

/** An invocation or completion in the doubly linked list of events the search lifts operations out of. */
interface Event {
  op: number;
  call: boolean;
  /** A call's completion, when the operation has one. */
  match?: Event;
  time: number;
  prev: Event | null;
  next: Event | null;
}

type SearchResult = { ok: true; states: number } | { ok: false; limit: boolean; states: number };

function search(history: readonly Operation[], maxStates: number): SearchResult {
  // A value no read answers and no cas expects behaves like any other such value, so they all share
  // one number: a register holding any of them answers every operation alike. That makes the unknown
  // writes of such values interchangeable, and the search tries only one where it would try each.
  const observed = new Set<string>();
  for (const op of history) {
    if (op.f === 'read' && op.outcome === 'ok' && op.result !== null) observed.add(op.result!);
    if (op.f === 'cas' && op.outcome !== 'failed') observed.add(op.expected);
  }
  const ids = new Map<string, number>();
  const id = (v: RegisterValue) => {
    if (v === null) return ABSENT;
    if (!observed.has(v)) return UNOBSERVED;
    let n = ids.get(v);
    if (n === undefined) ids.set(v, (n = ids.size + 2));
    return n;
  };
  const ops = history.map((op) => compile(op, id)).filter((op) => op !== undefined);

  const head = eventList(ops);
  const lift = (call: Event) => {
    for (const e of call.match ? [call, call.match] : [call]) {
      e.prev!.next = e.next;
      if (e.next) e.next.prev = e.prev;
    }
  };
  // The reverse of lift: put back the completion first, then the call, each where it was.
  const unlift = (call: Event) => {
    for (const e of call.match ? [call.match, call] : [call]) {
      e.prev!.next = e;
      if (e.next) e.next.prev = e;
    }
  };
  // The calls that may go next: those invoked before the first completion still in the list. Known
  // outcomes are tried first, so an unknown one is placed only where nothing else explains a result.
  const candidates = (): Event[] => {
    const definite: Event[] = [];
    const unknown: Event[] = [];
    let interchangeable = false;
    for (let e = head.next; e?.call; e = e.next) {
      const op = ops[e.op]!;
      if (op.definite) definite.push(e);
      else if (!op.interchangeable || !interchangeable) unknown.push(e);
      interchangeable ||= op.interchangeable;
    }
    return definite.concat(unknown);
  };

  const cache = new StateCache(ops.length);
  let state = ABSENT;
  let remaining = ops.filter((op) => op.definite).length;
  let states = 0;
  const placed: { call: Event; before: number }[] = [];
  const frames: { candidates: Event[]; next: number }[] = [{ candidates: candidates(), next: 0 }];
  for (;;) {
    // Every operation with a known outcome is placed: the unknown ones left over never took effect.
    if (remaining === 0) return { ok: true, states };
    const frame = frames[frames.length - 1]!;
    if (frame.next === frame.candidates.length) {
      frames.pop();
      const last = placed.pop();
      if (!last) return { ok: false, limit: false, states };
      unlift(last.call);
      cache.toggle(last.call.op);
      state = last.before;
      if (ops[last.call.op]!.definite) remaining++;
      continue;
    }
    const call = frame.candidates[frame.next++]!;
    const op = ops[call.op]!;
    const after = op.step(state);
    // An unknown operation placed where it changes nothing is the same as one left out.
    if (after === ILLEGAL || (!op.definite && after === state)) continue;
    cache.toggle(call.op);
    if (!cache.remember(after)) {
      cache.toggle(call.op);
      continue;
    }
    if (++states > maxStates) return { ok: false, limit: true, states };
    lift(call);
    placed.push({ call, before: state });
    state = after;
    if (op.definite) remaining--;
    frames.push({ candidates: candidates(), next: 0 });
  }
}

/** The events in time order behind a sentinel head; a call before a completion at the same time (they overlap). */
function eventList(ops: readonly Compiled[]): Event {
  const events: Event[] = [];
  ops.forEach((op, i) => {
    const call: Event = { op: i, call: true, time: op.invoke, prev: null, next: null };
    events.push(call);
    if (op.definite) events.push((call.match = { op: i, call: false, time: op.complete, prev: null, next: null }));
  });
  events.sort((a, b) => a.time - b.time || Number(b.call) - Number(a.call) || a.op - b.op);
  const head: Event = { op: -1, call: false, time: Number.NEGATIVE_INFINITY, prev: null, next: null };
  let prev = head;
  for (const e of events) {
    prev.next = e;
    e.prev = prev;
    prev = e;
  }
  return head;
}

/**
 * The (set of placed operations, state) pairs already explored. The set is a bitset with a hash kept
 * up to date as operations go in and out (a random word per operation, XORed), so a lookup compares
 * whole bitsets only on a hash match.
 */
class StateCache {
  private readonly bits: Uint32Array;
  private hash = 0;
  private readonly seen = new Map<number, { bits: Uint32Array; state: number }[]>();

  constructor(size: number) {
    this.bits = new Uint32Array(Math.ceil(size / 32));
  }

  toggle(op: number): void {
    this.bits[op >>> 5]! ^= 1 << (op & 31);
    this.hash ^= scramble(op + 1);
  }

  /** False if the current set with this state was seen before; else remembers it. */
  remember(state: number): boolean {
    const key = (this.hash ^ scramble(state + 0x9e3779b9)) >>> 0;
    const bucket = this.seen.get(key);
    if (bucket?.some((e) => e.state === state && sameBits(e.bits, this.bits))) return false;
    const entry = { bits: this.bits.slice(), state };
    if (bucket) bucket.push(entry);
    else this.seen.set(key, [entry]);
    return true;
  }
}

function sameBits(a: Uint32Array, b: Uint32Array): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** A well-mixed 32-bit word for an integer (murmur3's finalizer). */
function scramble(n: number): number {
  let h = Math.imul(n ^ (n >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) | 0;
}

/**
 * The shortest prefix of the key's history that is not linearizable, found by bisecting over
 * completion times: a prefix ends at a completion, and operations still running then become unknown.
 * Linearizability is prefix-closed, so every longer prefix fails too, and the operation completing
 * the shortest one is the first answer nothing explains.
 */
function explain(
  key: string,
  ops: readonly Operation[],
  index: ReadonlyMap<Operation, number>,
  limit: boolean,
  maxStates: number,
  states: number,
): NotLinearizable {
  const cuts = [...new Set(ops.filter((op) => op.outcome === 'ok').map((op) => op.complete!))].sort((a, b) => a - b);
  const prefixAt = (cut: number) =>
    ops
      .filter((op) => op.invoke <= cut)
      .map((op) => (op.outcome === 'ok' && op.complete! > cut ? { ...op, outcome: 'unknown' as const, complete: undefined } : op));
  // A prefix that hits the state limit counts as failing: the search is then for the shortest doubtful one.
  let [lo, hi] = [0, cuts.length - 1];
  let inconclusive = limit;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    const found = search(prefixAt(cuts[mid]!), maxStates);
    states += found.states;
    if (found.ok) lo = mid + 1;
    else [hi, inconclusive] = [mid, found.limit];
  }
  const cut = cuts[lo];
  const prefix = cut === undefined ? [...ops] : ops.filter((op) => op.invoke <= cut);
  const culprit = prefix.find((op) => op.outcome === 'ok' && op.complete === cut);
  const head = inconclusive
    ? `key ${JSON.stringify(key)}: inconclusive, the search gave up after ${maxStates} states`
    : `key ${JSON.stringify(key)} is not linearizable`;
  const lines = [head];
  if (culprit) {
    lines.push(`no order of its first ${prefix.length} operations explains the answer of`, `  ${describe(culprit, index)}`);
    lines.push('the operations around it:', ...context(prefix, culprit, index));
  }
  return { ok: false, key, inconclusive, culprit, prefix, message: lines.join('\n'), states };
}

const CONTEXT_BEFORE = 6;
const CONTEXT_MAX = 30;

/**
 * What a reader needs to see why the culprit is wrong: whichever wrote the values it names, the last
 * few operations that completed before it, and those overlapping it; earlier operations of unknown
 * outcome that could still take effect are only counted (reads among them never matter).
 */
function context(prefix: readonly Operation[], culprit: Operation, index: ReadonlyMap<Operation, number>): string[] {
  const named = new Set<string>();
  if (culprit.f === 'read' && culprit.result) named.add(culprit.result);
  if (culprit.f === 'cas') named.add(culprit.expected);
  const others = prefix.filter((op) => op !== culprit && op.outcome !== 'failed' && !(op.f === 'read' && op.outcome === 'unknown'));
  const writers = others.filter((op) => op.f !== 'read' && named.has(op.value));
  const before = others.filter((op) => op.outcome === 'ok' && op.complete! < culprit.invoke);
  const recent = before.sort((a, b) => a.complete! - b.complete!).slice(-CONTEXT_BEFORE);
  const overlapping = others.filter((op) => op.outcome === 'ok' && op.complete! >= culprit.invoke);
  const pending = others.filter((op) => op.outcome === 'unknown');
  const shown = [...new Set([...writers, ...recent, ...overlapping, ...pending.filter((op) => op.invoke >= culprit.invoke)])];
  const lines = shown
    .sort((a, b) => a.invoke - b.invoke)
    .slice(-CONTEXT_MAX)
    .map((op) => `  ${describe(op, index)}`);
  const earlier = pending.filter((op) => !shown.includes(op));
  if (earlier.length)
    lines.push(`  and ${earlier.length} earlier operations of unknown outcome: ${earlier.map((op) => `#${index.get(op)}`).join(' ')}`);
  return lines;
}

function describe(op: Operation, index: ReadonlyMap<Operation, number>): string {
  const q = (v: RegisterValue | undefined) => (v === null || v === undefined ? 'absent' : JSON.stringify(v));
  const call =
    op.f === 'read'
      ? 'read()'
      : op.f === 'write'
        ? `write(${q(op.value)})`
        : op.f === 'cas'
          ? `cas(${q(op.expected)} -> ${q(op.value)})`
          : `create(${q(op.value)})`;
  const result =
    op.outcome !== 'ok'
      ? op.outcome
      : op.f === 'read'
        ? `-> ${q(op.result)}`
        : op.f === 'cas'
          ? `-> ${op.result ? 'ok' : 'fail'}`
          : op.f === 'create'
            ? `-> ${op.result}`
            : '-> ok';
  const t = (n: number | undefined) => (n === undefined ? '?' : Number.isInteger(n) ? String(n) : n.toFixed(1));
  const until = op.outcome === 'unknown' ? '' : t(op.complete);
  return `#${index.get(op)}${op.client ? ` ${op.client}` : ''} ${call} ${result} [${t(op.invoke)}..${until}]`;
}
