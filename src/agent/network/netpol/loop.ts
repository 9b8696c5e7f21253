// The NetworkPolicy loop: fed by NetworkPolicy, Pod and Namespace informers, it renders the rules for
// this node's pods and applies the table when the text changed, in one nft transaction. Changes are
// coalesced and retried by the shared SyncLoop; nothing is applied before every informer has listed,
// so a restarted agent keeps its previous table until the complete one replaces it; a table removed
// from outside is put back.
import type { Namespace, Pod } from 'kubernetes-types/core/v1.js';
import type { NetworkPolicy } from 'kubernetes-types/networking/v1.js';
import { log } from '../../../log.js';
import { SyncLoop } from '../sync-loop.js';
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
  private readonly loop: SyncLoop<PolicySyncResult>;

  constructor(
    private readonly policies: ObjectSource<NetworkPolicy>,
    private readonly pods: ObjectSource<Pod>,
    private readonly namespaces: ObjectSource<Namespace>,
    private readonly opts: PolicyLoopOptions,
  ) {
    this.loop = new SyncLoop(() => this.sync(), { what: 'network policy', debounceMs: opts.debounceMs ?? 20, onSync: opts.onSync });
    const changed = () => this.changed();
    for (const source of [policies, pods, namespaces] as ObjectSource<unknown>[])
      source.on({ add: changed, update: changed, delete: changed });
  }

  async start(): Promise<void> {
    await Promise.all([this.policies.synced(), this.pods.synced(), this.namespaces.synced()]);
    await this.loop.start(this.opts.tableExists ? (this.opts.checkEveryMs ?? 30_000) : 0, () => this.check());
  }

  stop(): void {
    this.loop.stop();
  }

  changed(): void {
    this.loop.request();
  }

  /** Syncs now and waits for it (tests and benchmarks). */
  async syncNow(): Promise<void> {
    await this.loop.now();
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
    if (this.applied === undefined) return;
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
