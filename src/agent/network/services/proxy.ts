// Services on this node, what kube-proxy does: a loop fed by Service and EndpointSlice informers
// that renders the whole rule table and applies what changed: the first sync (and any that cannot be
// expressed as changes) replaces the whole table, later ones send the differing chains and elements,
// each as one nft transaction. Changes are coalesced and failed syncs retried by the shared SyncLoop.
// Nothing is applied before both informers have listed, so a restarted agent never programs a
// half-known cluster (its previous table stays in force until the complete one replaces it).
import type { Service } from 'kubernetes-types/core/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import { log } from '../../../log.js';
import { SyncLoop } from '../sync-loop.js';
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
  private changedSince: number | undefined;
  private readonly loop: SyncLoop<SyncResult>;

  constructor(
    private readonly services: ObjectSource<Service>,
    private readonly slices: ObjectSource<EndpointSlice>,
    private readonly opts: ServiceProxyOptions,
  ) {
    this.loop = new SyncLoop(() => this.sync(), { what: 'services', debounceMs: opts.debounceMs ?? 10, onSync: opts.onSync });
    const changed = () => this.changed();
    this.services.on({ add: changed, update: changed, delete: changed });
    this.slices.on({ add: changed, update: changed, delete: changed });
  }

  /** Waits for both sources to list, then applies the first table. */
  async start(): Promise<void> {
    await Promise.all([this.services.synced(), this.slices.synced()]);
    await this.loop.start(this.opts.checkEveryMs ?? 30_000, () => this.check());
  }

  stop(): void {
    this.loop.stop();
    clearTimeout(this.cleanup);
  }

  /** A change came in: sync soon, once for the whole burst. */
  changed(): void {
    this.changedSince ??= performance.now();
    this.loop.request();
  }

  /** Renders and applies now (the benchmark's full resync); `force` applies even an unchanged table. */
  async syncNow(force = false): Promise<SyncResult> {
    return this.loop.now(() => {
      if (force) this.table = undefined;
    });
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
    if (emptied.length && !this.cleanup && !this.loop.isStopped)
      this.cleanup = setTimeout(() => {
        this.cleanup = undefined;
        this.loop.request();
      }, CHAIN_DELETE_DELAY_MS + 100).unref();
  }

  /** Puts the table back if something removed it (e.g. `nft flush ruleset` by a firewall reload). */
  private async check(): Promise<void> {
    if (this.table === undefined) return;
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
