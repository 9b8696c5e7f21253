// The NetworkPolicy loop: fed by NetworkPolicy, Pod and Namespace informers, it renders the rules for
// this node's pods and applies the table when the text changed, in one nft transaction. Changes are
// coalesced (the first of a burst waits a few milliseconds for the rest); nothing is applied before
// every informer has listed, so a restarted agent keeps its previous table until the complete one
// replaces it; a failed apply is retried with backoff; a table removed from outside is put back.
import type { Namespace, Pod } from 'kubernetes-types/core/v1.js';
import type { NetworkPolicy } from 'kubernetes-types/networking/v1.js';
import { log } from '../../../log.js';
import type { ObjectSource } from '../services/proxy.js';
import { isolatedPods, type PolicyNode } from './model.js';
import { renderRules } from './render.js';

export interface PolicySyncResult {
  applied: boolean;
  isolatedPods: number;
  renderMs: number;
  applyMs: number;
}

export interface PolicyLoopOptions {
  node: PolicyNode;
  debounceMs?: number;
  /** How often the table's presence is checked (ms; 0: never). */
  checkEveryMs?: number;
  apply(script: string): Promise<void>;
  tableExists?(): Promise<boolean>;
  onSync?(r: PolicySyncResult): void;
}

export class PolicyLoop {
  private applied: string | undefined;
  private dirty = false;
  private running: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private checker: NodeJS.Timeout | undefined;
  private started = false;
  private stopped = false;
  private failures = 0;

  constructor(
    private readonly policies: ObjectSource<NetworkPolicy>,
    private readonly pods: ObjectSource<Pod>,
    private readonly namespaces: ObjectSource<Namespace>,
    private readonly opts: PolicyLoopOptions,
  ) {
    const changed = () => this.changed();
    for (const source of [policies, pods, namespaces] as ObjectSource<unknown>[])
      source.on({ add: changed, update: changed, delete: changed });
  }

  async start(): Promise<void> {
    await Promise.all([this.policies.synced(), this.pods.synced(), this.namespaces.synced()]);
    this.started = true;
    this.dirty = true;
    await this.drain();
    const every = this.opts.checkEveryMs ?? 30_000;
    if (every > 0 && this.opts.tableExists) this.checker = setInterval(() => void this.check(), every).unref();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    clearInterval(this.checker);
  }

  changed(): void {
    this.dirty = true;
    if (!this.started || this.stopped || this.timer || this.running) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.drain();
    }, this.opts.debounceMs ?? 20);
  }

  /** Syncs now and waits for it (tests and benchmarks). */
  async syncNow(): Promise<void> {
    while (this.running) await this.running;
    this.dirty = true;
    await this.drain();
  }

  private async drain(): Promise<void> {
    if (this.running) return;
    this.running = (async () => {
      while (this.dirty && !this.stopped) {
        this.dirty = false;
        try {
          const result = await this.sync(); // not inside onSync?.(...): without onSync it would never run
          this.failures = 0;
          this.opts.onSync?.(result);
        } catch (err) {
          this.failures++;
          this.dirty = true;
          log.error({ err: (err as Error).message }, 'network policy: applying the rules failed, retrying');
          await new Promise((r) => setTimeout(r, Math.min(100 * 2 ** this.failures, 30_000)));
        }
      }
    })();
    try {
      await this.running;
    } finally {
      this.running = undefined;
      if (this.dirty) this.changed();
    }
  }

  private async sync(): Promise<PolicySyncResult> {
    const t0 = performance.now();
    const model = isolatedPods(this.policies.list(), this.pods.list(), this.namespaces.list(), this.opts.node);
    const script = renderRules(model);
    const renderMs = performance.now() - t0;
    const result = { applied: false, isolatedPods: model.length, renderMs, applyMs: 0 };
    if (script === this.applied) return result;
    const t1 = performance.now();
    this.applied = undefined;
    await this.opts.apply(script);
    this.applied = script;
    return { ...result, applied: true, applyMs: performance.now() - t1 };
  }

  private async check(): Promise<void> {
    if (this.running || this.stopped || this.applied === undefined) return;
    try {
      if (await this.opts.tableExists!()) return;
      log.warn('network policy: the rule table was removed from outside; applying it again');
      this.applied = undefined;
      this.changed();
    } catch (err) {
      log.warn({ err: (err as Error).message }, 'network policy: checking the rule table failed');
    }
  }
}
