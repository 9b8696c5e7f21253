// Services on this node, what kube-proxy does: a loop fed by Service and EndpointSlice informers
// that renders the whole rule table and applies what changed: the first sync (and any that cannot be
// expressed as changes) replaces the whole table, later ones send the differing chains and elements,
// each as one nft transaction. Changes are coalesced: the first
// one waits a few milliseconds for the rest of its burst, and changes during a sync make one more.
// Nothing is applied before both informers have listed, so a restarted agent never programs a
// half-known cluster (its previous table stays in force until the complete one replaces it).
import type { Service } from 'kubernetes-types/core/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import { log } from '../../../log.js';
import { indexSlices, type ProxyNode, servicePorts } from './model.js';
import { applyRules, readAffinity, tableExists } from './nft.js';
import { increment } from './diff.js';
import { type AffinityEntry, fullScript, type RuleTable, renderTable } from './render.js';

/** How long an emptied chain waits before it is deleted (older kernels release references late). */
const CHAIN_DELETE_DELAY_MS = 1000;

/** What the loop reads: an informer, or anything that lists objects and tells of changes. */
export interface ObjectSource<T> {
  list(): T[];
  on(handlers: { add?(o: T): void; update?(old: T, o: T): void; delete?(o: T): void }): unknown;
  synced(): Promise<void>;
}

export interface SyncResult {
  /** Whether new rules went to the kernel (false: the rendered table was the one in force). */
  applied: boolean;
  /** How: the changes alone, or the whole table re-created. */
  mode?: 'incremental' | 'full';
  servicePorts: number;
  endpoints: number;
  renderMs: number;
  applyMs: number;
  /** From the first change this sync took in to its rules being in force. */
  latencyMs?: number;
}

export interface ServiceProxyOptions {
  node: ProxyNode;
  /** How long the first change of a burst waits for the rest (ms). */
  debounceMs?: number;
  /** How often the table's presence is checked, to restore it after a ruleset flush (ms; 0: never). */
  checkEveryMs?: number;
  /** Injected in tests and benchmarks; the real nft by default. */
  apply?: (script: string) => Promise<void>;
  readAffinity?: () => Promise<AffinityEntry[]>;
  tableExists?: () => Promise<boolean>;
  onSync?: (r: SyncResult) => void;
}

export class ServiceProxy {
  /** The table as last applied (with emptied chains kept); undefined: the next sync replaces it whole. */
  private table: RuleTable | undefined;
  private readonly emptiedAt = new Map<string, number>();
  private cleanup: NodeJS.Timeout | undefined;
  private dirty = false;
  private running: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private checker: NodeJS.Timeout | undefined;
  private stopped = false;
  private started = false;
  private changedSince: number | undefined;
  private failures = 0;
  private last: SyncResult | undefined;

  constructor(
    private readonly services: ObjectSource<Service>,
    private readonly slices: ObjectSource<EndpointSlice>,
    private readonly opts: ServiceProxyOptions,
  ) {
    const changed = () => this.changed();
    this.services.on({ add: changed, update: changed, delete: changed });
    this.slices.on({ add: changed, update: changed, delete: changed });
  }

  /** Waits for both sources to list, then applies the first table. */
  async start(): Promise<void> {
    await Promise.all([this.services.synced(), this.slices.synced()]);
    this.started = true;
    this.dirty = true;
    await this.drain();
    const every = this.opts.checkEveryMs ?? 30_000;
    if (every > 0) this.checker = setInterval(() => void this.check(), every).unref();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    clearTimeout(this.cleanup);
    clearInterval(this.checker);
  }

  /** A change came in: sync soon, once for the whole burst. */
  changed(): void {
    this.changedSince ??= performance.now();
    this.dirty = true;
    this.kick();
  }

  /** Starts a sync after the debounce, unless one is due or running (a running one takes the change in). */
  private kick(): void {
    if (!this.started || this.stopped || this.timer || this.running) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.drain();
    }, this.opts.debounceMs ?? 10);
  }

  /** Renders and applies now (the benchmark's full resync); `force` applies even an unchanged table. */
  async syncNow(force = false): Promise<SyncResult> {
    while (this.running) await this.running;
    if (force) this.table = undefined;
    this.dirty = true;
    await this.drain();
    return this.last!;
  }

  /** Syncs until no change is left; one at a time. */
  private async drain(): Promise<void> {
    if (this.running) return;
    this.running = (async () => {
      while (this.dirty && !this.stopped) {
        this.dirty = false;
        try {
          const r = (this.last = await this.sync());
          this.failures = 0;
          this.opts.onSync?.(r);
        } catch (err) {
          this.failures++;
          this.dirty = true;
          log.error({ err: (err as Error).message }, 'services: applying the rules failed, retrying');
          await new Promise((r) => setTimeout(r, Math.min(100 * 2 ** this.failures, 30_000)));
        }
      }
    })();
    try {
      await this.running;
    } finally {
      this.running = undefined;
      // A change that came after the loop's last look at `dirty` but before this point found it running.
      if (this.dirty) this.kick();
    }
  }

  private async sync(): Promise<SyncResult> {
    const since = this.changedSince;
    this.changedSince = undefined;
    const t0 = performance.now();
    const ports = servicePorts(this.services.list(), indexSlices(this.slices.list()), this.opts.node);
    const table = renderTable(ports, this.opts.node);
    const renderMs = performance.now() - t0;
    const endpoints = ports.reduce((n, p) => n + p.clusterEndpoints.length, 0);
    const result: SyncResult = { applied: false, servicePorts: ports.length, endpoints, renderMs, applyMs: 0 };
    const t1 = performance.now();
    const apply = this.opts.apply ?? applyRules;
    const now = Date.now();
    const inc = this.table && increment(this.table, table, (c) => now - (this.emptiedAt.get(c) ?? now) >= CHAIN_DELETE_DELAY_MS);
    if (inc && !inc.script) {
      this.keepEmptied(table, inc.emptied, now);
      return result;
    }
    let mode: SyncResult['mode'] = 'incremental';
    try {
      if (!inc) throw new Error('full replace');
      await apply(inc.script);
      this.keepEmptied(table, inc.emptied, now);
    } catch (err) {
      if (inc) log.warn({ err: (err as Error).message }, 'services: an incremental update failed; replacing the table');
      mode = 'full';
      this.table = undefined;
      let script = fullScript(table);
      // ClientIP stickiness lives in the table's sets: carry it over into the new table.
      if (ports.some((p) => p.affinitySeconds !== undefined)) {
        const carry = await (this.opts.readAffinity ?? readAffinity)();
        if (carry.length) script = fullScript(renderTable(ports, this.opts.node, carry));
      }
      await apply(script);
      this.emptiedAt.clear();
    }
    this.table = table;
    const done = performance.now();
    return { ...result, applied: true, mode, applyMs: done - t1, ...(since !== undefined ? { latencyMs: done - since } : {}) };
  }

  /** Emptied chains stay in the table as applied until a batch deletes them; a sync comes back for them. */
  private keepEmptied(table: RuleTable, emptied: string[], now: number): void {
    for (const name of [...this.emptiedAt.keys()]) if (!emptied.includes(name)) this.emptiedAt.delete(name);
    for (const name of emptied) {
      table.chains.set(name, []);
      if (!this.emptiedAt.has(name)) this.emptiedAt.set(name, now);
    }
    if (emptied.length && !this.cleanup && !this.stopped)
      this.cleanup = setTimeout(() => {
        this.cleanup = undefined;
        this.dirty = true;
        this.kick();
      }, CHAIN_DELETE_DELAY_MS + 100).unref();
  }

  /** Puts the table back if something removed it (e.g. `nft flush ruleset` by a firewall reload). */
  private async check(): Promise<void> {
    if (this.running || this.stopped || this.table === undefined) return;
    try {
      if (await (this.opts.tableExists ?? tableExists)()) return;
      log.warn('services: the rule table was removed from outside; applying it again');
      this.table = undefined;
      this.changed();
    } catch (err) {
      log.warn({ err: (err as Error).message }, 'services: checking the rule table failed');
    }
  }
}
