// A workload for fault tests: a few concurrent workers reading and writing registers on several API
// servers while the test kills, pauses and restarts them, every call recorded as an operation for the
// linearizability checker (linearizability.ts). A register is a ConfigMap; its value is data.value.
//
// How calls map to register operations:
// - read: GET; 404 is a read of absent.
// - write: PUT without resourceVersion (an unconditional update); 404 (the key not created yet) is
//   an operation that failed without taking effect.
// - cas: GET, then PUT of what was read with data.value changed, keeping its resourceVersion. The
//   GET is recorded as a read; the PUT as cas(value read -> new value), from its own invocation. The
//   server compares resourceVersions, the checker compares values. The two agree because every value
//   is written once (worker + counter) and nothing else changes these ConfigMaps: each version of the
//   object holds its own value, so "still at the version read" is "still holds the value read". A
//   409 Conflict (or 404) is then an answer, the cas failing on another value, not a non-event.
// - create: POST; 409 AlreadyExists answers 'exists'.
// A call that gets no answer within the per-call timeout, loses its connection, or answers 5xx is
// unknown: it may still take effect (a paused server's request sits in its socket until it resumes).
// A refused connection or another 4xx is failed: the request was never applied. A worker never
// retries a call: its next call, to the next server in turn, is a new operation.
import type { ConfigMap } from 'kubernetes-types/core/v1.js';
import { ApiClient, type ResourceClient } from '../../src/client/rest-client.js';
import { configMaps, type Writable } from '../../src/client/resources.js';
import type { Transport } from '../../src/client/transport.js';
import { ApiError } from '../../src/k8s/errors.js';
import type { Operation, Outcome, RegisterValue } from './linearizability.js';

export interface FaultTarget {
  /** The server's name in the history and in messages. */
  name: string;
  transport: Transport;
}

export interface WorkloadOptions {
  targets: readonly FaultTarget[];
  /** Where the registers live; it must exist. */
  namespace: string;
  /** How many registers (ConfigMaps reg-0, reg-1, ...). */
  keys?: number;
  workers?: number;
  /** How long a call may go unanswered before it counts as unknown. */
  callTimeoutMs?: number;
}

/** An operation as the checker takes it, with the server it went to and why it did not end ok. */
export type RecordedOperation = Operation & { target: string; error?: string };

export interface OutcomeCounts {
  ok: number;
  failed: number;
  unknown: number;
}

export interface ReadBack {
  target: string;
  key: string;
  /** The value, null if absent; undefined if the read got no answer. */
  value?: RegisterValue;
  resourceVersion?: string;
  error?: string;
}

type ConfigMaps = ResourceClient<Writable<ConfigMap>>;
type Call = { f: 'read' } | { f: 'write'; value: string } | { f: 'cas'; expected: string; value: string } | { f: 'create'; value: string };
type Ended<R> = { invoke: number; complete: number } & ({ answer: R } | { error: unknown });

export class RegisterWorkload {
  readonly history: RecordedOperation[] = [];
  readonly keys: string[];
  private readonly workers: number;
  private readonly callTimeoutMs: number;
  private running?: Promise<void>;
  private stopping = false;

  constructor(private readonly opts: WorkloadOptions) {
    if (opts.targets.length === 0) throw new Error('the workload needs at least one target');
    this.keys = Array.from({ length: opts.keys ?? 5 }, (_, i) => `reg-${i}`);
    this.workers = opts.workers ?? 4;
    this.callTimeoutMs = opts.callTimeoutMs ?? 3000;
  }

  start(): void {
    if (this.running) throw new Error('the workload is already running');
    this.stopping = false;
    this.running = Promise.all(Array.from({ length: this.workers }, (_, w) => this.work(w))).then(() => {});
  }

  /** Lets every worker finish the call it is in (at most a call timeout), then answers. */
  async stop(): Promise<void> {
    this.stopping = true;
    await this.running;
    this.running = undefined;
  }

  /** Outcomes so far, over all servers or for one. */
  counts(target?: string, since = Number.NEGATIVE_INFINITY): OutcomeCounts {
    const counts = { ok: 0, failed: 0, unknown: 0 };
    for (const op of this.history) if ((target === undefined || op.target === target) && op.invoke >= since) counts[op.outcome]++;
    return counts;
  }

  /** Reads every register from every server, each read recorded in the history like any other. */
  async readBack(): Promise<ReadBack[]> {
    const reads = this.opts.targets.flatMap((target) =>
      this.keys.map(async (key): Promise<ReadBack> => {
        const { op, object } = await this.read('read-back', target, key);
        if (op.outcome !== 'ok') return { target: target.name, key, error: op.error };
        return {
          target: target.name,
          key,
          value: op.f === 'read' ? op.result : undefined,
          resourceVersion: object?.metadata?.resourceVersion,
        };
      }),
    );
    return Promise.all(reads);
  }

  private async work(worker: number): Promise<void> {
    const client = `w${worker}`;
    let written = 0;
    let turn = worker;
    const next = () => this.opts.targets[turn++ % this.opts.targets.length]!;
    const value = () => `${client}-${++written}`;
    while (!this.stopping) {
      const key = this.keys[Math.floor(Math.random() * this.keys.length)]!;
      const dice = Math.random();
      if (dice < 0.2) await this.read(client, next(), key);
      else if (dice < 0.45) await this.write(client, next(), key, value());
      else if (dice < 0.85) {
        const { op, object } = await this.read(client, next(), key);
        if (object && op.f === 'read' && op.result !== null && op.result !== undefined)
          await this.cas(client, next(), object, op.result, value());
      } else await this.create(client, next(), key, value());
    }
  }

  private async read(client: string, target: FaultTarget, key: string) {
    const ended = await this.call(target, (maps) => maps.get(this.opts.namespace, key));
    // A ConfigMap without data.value was never written by this workload: '' is a value nobody wrote.
    if ('answer' in ended)
      return { op: this.record(client, target, key, { f: 'read' }, ended, ended.answer.data?.value ?? ''), object: ended.answer };
    if (ended.error instanceof ApiError && ended.error.code === 404)
      return { op: this.record(client, target, key, { f: 'read' }, ended, null) };
    return { op: this.record(client, target, key, { f: 'read' }, ended) };
  }

  private async write(client: string, target: FaultTarget, key: string, value: string): Promise<void> {
    const ended = await this.call(target, (maps) => maps.update(this.configMap(key, value)));
    this.record(client, target, key, { f: 'write', value }, ended, 'answer' in ended ? 'ok' : undefined);
  }

  private async cas(client: string, target: FaultTarget, seen: Writable<ConfigMap>, expected: string, value: string): Promise<void> {
    const key = seen.metadata!.name!;
    const ended = await this.call(target, (maps) => maps.update({ ...seen, data: { ...seen.data, value } }));
    const conflict = 'error' in ended && ended.error instanceof ApiError && (ended.error.reason === 'Conflict' || ended.error.code === 404);
    this.record(client, target, key, { f: 'cas', expected, value }, ended, 'answer' in ended ? true : conflict ? false : undefined);
  }

  private async create(client: string, target: FaultTarget, key: string, value: string): Promise<void> {
    const ended = await this.call(target, (maps) => maps.create(this.configMap(key, value)));
    const exists = 'error' in ended && ended.error instanceof ApiError && ended.error.reason === 'AlreadyExists';
    this.record(client, target, key, { f: 'create', value }, ended, 'answer' in ended ? 'ok' : exists ? 'exists' : undefined);
  }

  private configMap(key: string, value: string): Writable<ConfigMap> {
    return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: key, namespace: this.opts.namespace }, data: { value } };
  }

  /** One call with its own deadline, timed from just before it is sent to just after its answer is read. */
  private async call<R>(target: FaultTarget, run: (maps: ConfigMaps) => Promise<R>): Promise<Ended<R>> {
    const abort = new AbortController();
    const deadline = new Promise<never>((_, reject) => {
      abort.signal.addEventListener('abort', () => reject(abort.signal.reason), { once: true });
    });
    const timer = setTimeout(
      () => abort.abort(new Error(`no answer from ${target.name} within ${this.callTimeoutMs} ms`)),
      this.callTimeoutMs,
    );
    const transport: Transport = (method, path, init) => target.transport(method, path, { ...init, signal: abort.signal });
    const maps = new ApiClient(transport, 'fault-client').resource(configMaps);
    const invoke = performance.now();
    try {
      // The race ends the call at its deadline even where a transport does not heed the signal.
      const answer = await Promise.race([run(maps), deadline]);
      return { invoke, complete: performance.now(), answer };
    } catch (error) {
      return { invoke, complete: performance.now(), error };
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Records the call: ok with `result` when the answer (or the error) is one the register explains,
   * else failed or unknown by what the error says. A write's result is just 'ok'.
   */
  private record(
    client: string,
    target: FaultTarget,
    key: string,
    call: Call,
    ended: Ended<unknown>,
    result?: RegisterValue | boolean | 'ok' | 'exists',
  ): RecordedOperation {
    const outcome: Outcome = result !== undefined ? 'ok' : failedOrUnknown('error' in ended ? ended.error : undefined);
    // For an unknown outcome `complete` is only when the client gave up; the checker ignores it.
    const op = { key, client, target: target.name, invoke: ended.invoke, complete: ended.complete, outcome, ...call } as RecordedOperation;
    if (outcome === 'ok' && op.f !== 'write') Object.assign(op, { result });
    if (outcome !== 'ok' && 'error' in ended) op.error = describeError(ended.error);
    this.history.push(op);
    return op;
  }
}

/** Failed when the request certainly was not applied: refused before it was sent, or a 4xx answer. */
function failedOrUnknown(error: unknown): Outcome {
  if (error instanceof ApiError) return error.code >= 400 && error.code < 500 ? 'failed' : 'unknown';
  return (error as NodeJS.ErrnoException | undefined)?.code === 'ECONNREFUSED' ? 'failed' : 'unknown';
}

function describeError(error: unknown): string {
  if (error instanceof ApiError) return `${error.code} ${error.reason}: ${error.message}`;
  const code = (error as NodeJS.ErrnoException).code;
  return `${code ? `${code} ` : ''}${(error as Error).message ?? String(error)}`;
}
