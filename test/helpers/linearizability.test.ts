import t, { type Test } from 'tap';
import { checkRegisters, type Operation, type RegisterValue } from './linearizability.js';

// Histories on key 'x' unless said otherwise; times are logical.
const base = (invoke: number, complete: number) => ({ key: 'x', invoke, complete, outcome: 'ok' as const });
const read = (result: RegisterValue, invoke: number, complete: number): Operation => ({ ...base(invoke, complete), f: 'read', result });
const write = (value: string, invoke: number, complete: number): Operation => ({ ...base(invoke, complete), f: 'write', value });
const cas = (expected: string, value: string, result: boolean, invoke: number, complete: number): Operation => ({
  ...base(invoke, complete),
  f: 'cas',
  expected,
  value,
  result,
});
const create = (value: string, result: 'ok' | 'exists', invoke: number, complete: number): Operation => ({
  ...base(invoke, complete),
  f: 'create',
  value,
  result,
});
const unknown = (op: Operation): Operation => ({ ...op, outcome: 'unknown', complete: undefined });
const failed = (op: Operation): Operation => ({ ...op, outcome: 'failed' });
const onKey = (key: string, op: Operation): Operation => ({ ...op, key });

const linearizable = (t: Test, history: Operation[], what: string) => {
  const result = checkRegisters(history);
  t.ok(result.ok, `${what}${result.ok ? '' : `\n${result.message}`}`);
};

t.test('sequential histories of every operation', async (t) => {
  linearizable(t, [], 'an empty history');
  linearizable(t, [read(null, 0, 1)], 'a key never written reads absent');
  linearizable(
    t,
    [
      create('a', 'ok', 0, 1),
      read('a', 2, 3),
      create('b', 'exists', 4, 5),
      write('c', 6, 7),
      cas('c', 'd', true, 8, 9),
      cas('c', 'e', false, 10, 11),
      read('d', 12, 13),
    ],
    'create, read, create on an existing key, write, cas that succeeds and one that fails',
  );
  t.notOk(checkRegisters([read('a', 0, 1)]).ok, 'a value nobody wrote');
  t.notOk(checkRegisters([create('a', 'ok', 0, 1), create('b', 'ok', 2, 3)]).ok, 'two creates of one key both succeed');
  t.notOk(checkRegisters([create('a', 'exists', 0, 1)]).ok, 'create reports an existing key that is absent');
  t.notOk(checkRegisters([create('a', 'ok', 0, 1), cas('a', 'b', false, 2, 3)]).ok, 'a cas fails on the value it expects');
  t.notOk(checkRegisters([create('a', 'ok', 0, 1), cas('z', 'b', true, 2, 3)]).ok, 'a cas succeeds on a value not there');
});

t.test('a stale read after a completed write is caught, and explained', async (t) => {
  const history = [create('a', 'ok', 0, 1), write('b', 2, 3), read('a', 4, 5), read('b', 6, 7)];
  const result = checkRegisters(history);
  if (result.ok) return t.fail('passed');
  t.equal(result.key, 'x');
  t.notOk(result.inconclusive);
  t.equal(result.culprit, history[2], 'the stale read is the first answer nothing explains');
  t.same(result.prefix, history.slice(0, 3), 'the shortest prefix that fails ends with it');
  t.match(result.message, /key "x" is not linearizable/);
  t.match(result.message, /#2 read\(\) -> "a" \[4\.\.5\]/);
  t.match(result.message, /#1 write\("b"\) -> ok \[2\.\.3\]/, 'shows the write it missed');
});

t.test('concurrent operations may take effect in either order, but once only', async (t) => {
  const before = [create('a', 'ok', 0, 1)];
  linearizable(t, [...before, write('b', 2, 10), read('a', 3, 4)], 'a read during a write sees the old value');
  linearizable(t, [...before, write('b', 2, 10), read('b', 3, 4)], '... or the new one');
  linearizable(t, [...before, write('b', 2, 10), read('b', 3, 4), read('b', 5, 6)], 'and then the new one stays');
  t.notOk(checkRegisters([...before, write('b', 2, 10), read('b', 3, 4), read('a', 5, 6)]).ok, 'new then old: the write undone');
  linearizable(t, [...before, cas('a', 'b', true, 2, 10), cas('a', 'c', false, 3, 4)], 'of two concurrent cas, one wins');
  linearizable(t, [...before, cas('a', 'b', false, 2, 10), cas('a', 'c', true, 3, 4)], '... whichever it is');
  const both = checkRegisters([...before, cas('a', 'b', true, 2, 10), cas('a', 'c', true, 3, 4)]);
  t.notOk(both.ok, 'two cas from the same value both succeed');
  linearizable(t, [...before, write('b', 2, 4), write('c', 3, 5), read('b', 6, 7)], 'concurrent writes: b last');
  linearizable(t, [...before, write('b', 2, 4), write('c', 3, 5), read('c', 6, 7)], 'concurrent writes: c last');
  t.notOk(
    checkRegisters([...before, write('b', 2, 4), write('c', 3, 5), read('c', 6, 7), read('b', 8, 9)]).ok,
    'after both writes complete, readers disagree on which came last',
  );
  const touching = [...before, write('b', 2, 4), read('a', 4, 5)];
  linearizable(t, touching, 'a read invoked at the instant a write completes overlaps it');
});

t.test('a lost acknowledged write is caught', async (t) => {
  const history = [create('a', 'ok', 0, 1), write('b', 2, 3), cas('b', 'c', true, 4, 5), read('b', 10, 11)];
  const result = checkRegisters(history);
  t.notOk(result.ok, 'the cas was acknowledged, then its value is gone');
  if (!result.ok) t.equal(result.culprit, history[3], 'the final read is the answer nothing explains');
  linearizable(t, [...history.slice(0, 3), read('c', 10, 11)], 'with the value kept');
});

t.test('unknown outcomes took effect or not, at any time after their invocation', async (t) => {
  const before = [create('a', 'ok', 0, 1)];
  const lost = unknown(write('b', 2, 3));
  linearizable(t, [...before, lost, read('b', 5, 6)], 'a timed-out write that took effect');
  linearizable(t, [...before, lost, read('a', 5, 6)], 'a timed-out write that did not');
  linearizable(t, [...before, lost, read('a', 5, 6), read('b', 7, 8)], 'one that took effect late, after a read');
  linearizable(t, [...before, lost, write('c', 4, 5), read('b', 6, 7)], 'one that took effect after a later write');
  t.notOk(checkRegisters([...before, lost, read('b', 5, 6), read('a', 7, 8)]).ok, 'taken effect, then undone');
  t.notOk(checkRegisters([...before, read('b', 0.5, 1.5), lost]).ok, 'seen before it was invoked');
  t.notOk(checkRegisters([...before, lost, read('b', 4, 5), read('b', 6, 7), write('c', 8, 9), read('b', 10, 11)]).ok, 'twice');
  linearizable(t, [...before, unknown(cas('a', 'b', true, 2, 3)), read('b', 5, 6)], 'an unknown cas that applied');
  t.notOk(
    checkRegisters([...before, write('z', 2, 3), unknown(cas('a', 'b', true, 4, 5)), read('b', 6, 7)]).ok,
    'an unknown cas cannot apply once its expected value is gone',
  );
  linearizable(t, [unknown(create('a', 'ok', 0, 1)), create('b', 'exists', 2, 3), read('a', 4, 5)], 'an unknown create that applied');
  linearizable(t, [unknown(read('q', 0, 1)), read(null, 2, 3)], 'an unknown read tells nothing');
  linearizable(t, [...before, unknown(write('b', 2, 3)), unknown(write('c', 2, 3)), read('c', 4, 5), read('b', 6, 7)], 'in any order');
});

t.test('a failed operation never took effect', async (t) => {
  const history = [create('a', 'ok', 0, 1), failed(write('b', 2, 3))];
  linearizable(t, [...history, read('a', 4, 5)], 'its value never appears');
  t.notOk(checkRegisters([...history, read('b', 4, 5)]).ok, 'a failed write that is read');
  linearizable(t, [failed(read('zz', 0, 1))], 'a failed read tells nothing');
  const seen = [create('a', 'ok', 0, 1), failed(write('b', 2, 10)), read('b', 3, 4), read('a', 11, 12)];
  const result = checkRegisters(seen);
  t.match(result, { ok: false, culprit: seen[2] }, 'a failed write still running when it is read is no excuse');
});

t.test('keys are checked apart and the broken one is named', async (t) => {
  const result = checkRegisters([
    onKey('good', create('a', 'ok', 0, 1)),
    onKey('bad', create('a', 'ok', 0, 10)),
    onKey('good', read('a', 2, 3)),
    onKey('bad', create('b', 'ok', 2, 3)),
  ]);
  t.notOk(result.ok);
  if (!result.ok) t.equal(result.key, 'bad');
  t.match(checkRegisters([onKey('p', write('a', 0, 1)), onKey('q', read(null, 2, 3))]), { ok: true, keys: 2, operations: 2 });
});

t.test('bad input is refused with the operation named', async (t) => {
  t.throws(() => checkRegisters([{ key: 'x', f: 'read', invoke: 0, complete: 1, outcome: 'ok' }]), /#0 .*needs a string or null result/);
  t.throws(() => checkRegisters([write('a', 0, 1), write('b', 5, 4)]), /#1 .*completion time no earlier than its invocation/);
  t.throws(() => checkRegisters([{ ...cas('a', 'b', true, 0, 1), result: undefined } as Operation]), /needs a boolean result/);
  t.throws(() => checkRegisters([{ ...write('a', 0, 1), complete: undefined }]), /needs a completion time/);
});

t.test('the search gives up at its limit and says so', async (t) => {
  // Many concurrent unknown writes of values failed cas ops name, and a read of a value nobody wrote:
  // the search must try every order before it can say no.
  const values = Array.from({ length: 14 }, (_, i) => `v${i}`);
  const history = [...values.map((v) => unknown(write(v, 0, 1))), ...values.map((v) => cas(v, 'z', false, 0, 1)), read('none', 2, 3)];
  const result = checkRegisters(history, { maxStates: 1000 });
  t.match(result, { ok: false, key: 'x', inconclusive: true, message: /inconclusive, the search gave up after 1000 states/ });
});

// The definition itself, for small histories: some order of the operations that took effect (all
// known ones, any of the unknown ones) respects real time and gives every known result.
function bruteForce(history: Operation[]): boolean {
  const ops = history.filter((op) => op.outcome !== 'failed' && !(op.f === 'read' && op.outcome === 'unknown'));
  const end = (op: Operation) => (op.outcome === 'ok' ? op.complete! : Number.POSITIVE_INFINITY);
  const apply = (op: Operation, s: RegisterValue): RegisterValue | undefined => {
    const known = op.outcome === 'ok';
    if (op.f === 'read') return op.result === s ? s : undefined;
    if (op.f === 'write') return op.value;
    if (op.f === 'cas') return s === op.expected ? (!known || op.result ? op.value : undefined) : known && op.result ? undefined : s;
    return s === null ? (!known || op.result === 'ok' ? op.value : undefined) : known && op.result === 'ok' ? undefined : s;
  };
  const go = (left: Operation[], s: RegisterValue): boolean => {
    if (left.every((op) => op.outcome === 'unknown')) return true;
    return left.some((op, i) => {
      // Next may be any operation that no other still left completed before it was invoked.
      if (left.some((other) => end(other) < op.invoke)) return false;
      const rest = left.filter((_, j) => j !== i);
      const after = apply(op, s);
      return (after !== undefined && go(rest, after)) || (op.outcome === 'unknown' && go(rest, s));
    });
  };
  return go(ops, null);
}

t.test('agrees with the definition on thousands of small random histories', async (t) => {
  const random = mulberry32(7);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(random() * xs.length)]!;
  const values = ['a', 'b', 'c'];
  let linearizable = 0;
  for (let n = 0; n < 3000; n++) {
    const history = Array.from({ length: 2 + Math.floor(random() * 6) }, (): Operation => {
      const invoke = Math.floor(random() * 8);
      const complete = invoke + Math.floor(random() * 4);
      const outcome = pick(['ok', 'ok', 'ok', 'ok', 'unknown', 'failed'] as const);
      const times = { key: 'x', invoke, complete: outcome === 'unknown' ? undefined : complete, outcome };
      const f = pick(['read', 'write', 'cas', 'create'] as const);
      if (f === 'read') return { ...times, f, result: pick([null, ...values]) };
      if (f === 'write') return { ...times, f, value: pick(values) };
      if (f === 'cas') return { ...times, f, expected: pick(values), value: pick(values), result: random() < 0.5 };
      return { ...times, f, value: pick(values), result: pick(['ok', 'exists'] as const) };
    });
    const expected = bruteForce(history);
    if (expected) linearizable++;
    const got = checkRegisters(history).ok;
    if (got !== expected) return t.fail(`disagrees (brute force: ${expected}) on ${JSON.stringify(history)}`);
  }
  t.ok(linearizable > 300 && linearizable < 2700, `both kinds were tried: ${linearizable} of 3000 linearizable`);
});

// A register driven by several clients at once: every operation takes effect at a random instant
// within its call (or, for some unknown ones, later or never), and its result is what the register
// held then. Values are unique, as the fault client writes them.
function simulate(seed: number, opts: { ops: number; clients: number; keys: number; unknown: number }): Operation[] {
  const random = mulberry32(seed);
  type Planned = Operation & { at?: number };
  const planned: Planned[] = [];
  const clock = Array.from({ length: opts.clients }, () => random() * 3);
  for (let n = 0; n < opts.ops; n++) {
    const c = n % opts.clients;
    const invoke = clock[c]!;
    const complete = invoke + 0.5 + random() * 4;
    clock[c] = complete + random();
    const key = `k${Math.floor(random() * opts.keys)}`;
    const value = `c${c}-${n}`;
    const lost = random() < opts.unknown;
    const at = lost ? (random() < 0.5 ? invoke + random() * 20 : undefined) : invoke + random() * (complete - invoke);
    const p = random();
    const call = p < 0.35 ? { f: 'read' as const } : p < 0.6 ? { f: 'write' as const, value } : p < 0.9 ? { f: 'cas' as const } : null;
    const op = { key, invoke, complete, outcome: lost ? ('unknown' as const) : ('ok' as const), client: `c${c}`, at };
    planned.push(call?.f === 'cas' ? { ...op, f: 'cas', expected: '', value } : call ? { ...op, ...call } : { ...op, f: 'create', value });
  }
  const state = new Map<string, string>();
  const written = new Map<string, string[]>();
  for (const op of planned.filter((p) => p.at !== undefined).sort((a, b) => a.at! - b.at!)) {
    const now = state.get(op.key) ?? null;
    const set = (v: string) => {
      state.set(op.key, v);
      written.set(op.key, [...(written.get(op.key) ?? []), v]);
    };
    if (op.f === 'read') op.result = now;
    else if (op.f === 'write') set(op.value);
    else if (op.f === 'create') {
      op.result = now === null ? 'ok' : 'exists';
      if (now === null) set(op.value);
    } else if (op.f === 'cas') {
      // Mostly the value there (a success), else an older one (a failure), as after a stale read.
      const old = written.get(op.key) ?? [];
      op.expected = random() < 0.6 || old.length === 0 ? (now ?? 'never') : old[Math.floor(random() * old.length)]!;
      op.result = op.expected === now;
      if (op.result) set(op.value);
    }
  }
  for (const op of planned) {
    if (op.f === 'cas' && op.expected === '') op.expected = 'never';
    delete op.at;
    if (op.outcome === 'unknown') delete op.complete;
  }
  return planned;
}

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = Math.imul(a ^ (a >>> 15), a | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

t.test('simulated concurrent histories of thousands of operations per key', async (t) => {
  for (const seed of [1, 2, 3]) {
    const history = simulate(seed, { ops: 9000, clients: 5, keys: 3, unknown: 0.02 });
    const started = performance.now();
    const result = checkRegisters(history);
    const ms = performance.now() - started;
    if (!result.ok) {
      t.fail(`seed ${seed}: ${result.message}`);
      continue;
    }
    t.comment(`seed ${seed}: ${result.operations} operations on ${result.keys} keys, ${result.states} states, ${ms.toFixed(0)} ms`);
    // The search's work, not its time: close to one state per operation when nothing goes astray.
    t.ok(result.states < 4 * result.operations, `seed ${seed}: ${result.states} states for ${result.operations} operations`);

    // The same history with a read halfway through answering the first value written, long overwritten.
    const middle = history[history.length / 2]!.invoke;
    const target = history.find((op) => op.f === 'read' && op.outcome === 'ok' && op.key === 'k0' && op.invoke > middle) as Operation & {
      f: 'read';
    };
    const writes = history.filter((op) => op.f === 'write' && op.outcome === 'ok' && op.key === 'k0');
    const first = writes.sort((a, b) => a.complete! - b.complete!)[0] as Operation & { f: 'write' };
    const stale = history.map((op) => (op === target ? { ...target, result: first.value } : op));
    const broken = checkRegisters(stale);
    t.notOk(broken.ok, `seed ${seed}: a stale read is caught`);
    if (!broken.ok) t.equal(broken.culprit, stale[history.indexOf(target)], `seed ${seed}: and named`);
  }
});
