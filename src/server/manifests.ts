// Auto-deploying manifests, as K3s's deploy controller: every file of <data-dir>/server/manifests is
// applied at start and whenever it changes, the objects of a removed (or disabled) file are deleted,
// and so are objects a changed file no longer has. Each file has an Addon record (k3s.cattle.io/v1)
// in kube-system: its source and checksum, and in its status the objects it owns, which is what lets
// a removal seen after a restart still find them. A bad file is reported (log, Warning event, the
// Addon's Applied condition) and changes nothing that earlier good versions created.
import { type FSWatcher, mkdirSync, watch } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Addon, AddonObject, AddonStatus } from '../api/registry/builtin/k3s.js';
import { EventRecorder } from '../client/event-recorder.js';
import type { ApiClient, ResourceClient } from '../client/rest-client.js';
import type { ResourceType } from '../client/resources.js';
import { nowTimestamp } from '../k8s/time.js';
import { log } from '../log.js';
import { applyObjects, deleteObjects, errorMessage } from './manifest-apply.js';
import { addonName, checksum, parseManifest, selectFiles, staleObjects, unionObjects } from './manifest-files.js';
import { KindResolver } from './manifest-kinds.js';

export interface ManifestsOptions {
  /** The directory watched (<data-dir>/server/manifests); created when missing. */
  dir: string;
  /** Who applies: the server's supervisor identity. */
  client: ApiClient;
  /** --disable names: a file named <name>.yaml is skipped. */
  disabled: string[];
  /** The rescan period; fs.watch misses changes on some file systems (K3s polls every 15 s too). */
  rescanMs?: number;
}

const NAMESPACE = 'kube-system';
const FIELD_MANAGER = 'skiff-deploy';
/** Changes come in bursts (an editor's save is several writes): act once they settle. */
const DEBOUNCE_MS = 200;
const FIRST_RETRY_MS = 1000;
const addons: ResourceType<Addon> = { group: 'k3s.cattle.io', version: 'v1', resource: 'addons', kind: 'Addon', namespaced: true };

/** One file's pass: the Addon as written, the status to record once stale objects are pruned. */
interface Outcome {
  addon: Addon;
  status: AddonStatus;
  stale: AddonObject[];
}

export function startManifests(opts: ManifestsOptions): { stop(): Promise<void> } {
  const deployer = new ManifestDeployer(opts);
  return { stop: () => deployer.stop() };
}

class ManifestDeployer {
  private readonly api: ApiClient;
  private readonly addons: ResourceClient<Addon>;
  private readonly kinds: KindResolver;
  private readonly recorder: EventRecorder;
  private readonly rescanMs: number;
  /** Checksums this process applied completely: files are applied once at start, then on change. */
  private readonly applied = new Map<string, string>();
  /** The last failure reported per Addon, not reported again while it stays the same. */
  private readonly failures = new Map<string, string>();
  private readonly watcher?: FSWatcher;
  private timer?: NodeJS.Timeout;
  private due = 0;
  private retryMs = 0;
  private running = Promise.resolve();
  private stopped = false;

  constructor(private readonly opts: ManifestsOptions) {
    this.api = opts.client.as(FIELD_MANAGER);
    this.addons = this.api.resource(addons);
    this.kinds = new KindResolver(this.api);
    this.recorder = new EventRecorder(this.api, FIELD_MANAGER);
    this.rescanMs = opts.rescanMs ?? 15_000;
    try {
      mkdirSync(opts.dir, { recursive: true });
      this.watcher = watch(opts.dir, () => this.schedule(DEBOUNCE_MS));
      this.watcher.on('error', (err) => log.warn({ err: err.message, dir: opts.dir }, 'manifests: watch failed, rescanning only'));
    } catch (err) {
      log.warn({ err: errorMessage(err), dir: opts.dir }, 'manifests: cannot watch the directory, rescanning only');
    }
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.watcher?.close();
    await this.running;
  }

  /** A pass in `ms`, unless one is due sooner already. */
  private schedule(ms: number): void {
    const due = Date.now() + ms;
    if (this.stopped || (this.timer && this.due <= due)) return;
    clearTimeout(this.timer);
    this.due = due;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.running = this.running.then(() => this.pass());
    }, ms);
    this.timer.unref();
  }

  private async pass(): Promise<void> {
    if (this.stopped) return;
    const ok = await this.sync().catch((err: unknown) => {
      log.warn({ err: errorMessage(err), dir: this.opts.dir }, 'manifests: pass failed, will retry');
      return false;
    });
    // Failures (a kind whose CRD another file brings, a namespace not there yet) are retried soon.
    this.retryMs = ok ? 0 : Math.min(Math.max(this.retryMs * 2, FIRST_RETRY_MS), this.rescanMs);
    this.schedule(ok ? this.rescanMs : this.retryMs);
  }

  /** Applies what changed, then prunes and removes (after every apply: an object moved to another file is kept). */
  private async sync(): Promise<boolean> {
    const { dir, disabled } = this.opts;
    const { deploy, skipped } = selectFiles(await readdir(dir).catch(() => []), disabled);
    const records = new Map(
      (await this.addons.list(NAMESPACE)).items
        .filter((a) => a.spec?.source && path.dirname(a.spec.source) === dir)
        .map((a) => [a.metadata!.name!, a]),
    );
    let ok = true;
    const outcomes: Outcome[] = [];
    for (const file of deploy) {
      const outcome = await this.apply(file, records.get(addonName(file)));
      if (outcome === false) ok = false;
      else if (outcome) outcomes.push(outcome);
    }
    for (const { addon, status, stale } of outcomes) {
      const left = await deleteObjects(this.api, this.kinds, addon.metadata!.name!, stale);
      await this.write(addon, { ...status, objects: unionObjects(status.objects ?? [], left) });
      ok &&= left.length === 0;
    }
    const kept = new Set([...deploy, ...skipped].map(addonName));
    for (const [name, record] of records) if (!kept.has(name)) ok = (await this.remove(record)) && ok;
    return ok;
  }

  /** Applies one file if it changed: its outcome, undefined when unchanged, false when it failed. */
  private async apply(file: string, record: Addon | undefined): Promise<Outcome | undefined | false> {
    const name = addonName(file);
    const source = path.join(this.opts.dir, file);
    const content = await readFile(source, 'utf8').catch(() => undefined);
    if (content === undefined) return undefined; // gone since the listing: the next pass removes it
    const sum = checksum(content);
    if (this.applied.get(name) === sum) return undefined;
    const previous = record?.status?.objects ?? [];
    const addon = await this.write({ metadata: { name }, spec: { source, checksum: sum } }, record?.status ?? {});
    let applied: { objects: AddonObject[]; error?: string };
    try {
      applied = await applyObjects(this.api, this.kinds, name, parseManifest(content));
    } catch (err) {
      applied = { objects: [], error: errorMessage(err) };
    }
    if (applied.error) {
      const error = `${file}: ${applied.error}`;
      // What earlier versions created stays, and so does the record of it.
      await this.write(addon, {
        ...record?.status,
        objects: unionObjects(previous, applied.objects),
        conditions: [condition(addon, error)],
      });
      if (this.failures.get(name) !== error) {
        log.warn({ file: source, err: error }, 'manifests: cannot apply');
        this.recorder.event(addon, 'Warning', 'ApplyManifestFailed', error);
      }
      this.failures.set(name, error);
      return false;
    }
    this.applied.set(name, sum);
    this.failures.delete(name);
    log.info({ file: source, objects: applied.objects.length }, 'manifests: applied');
    this.recorder.event(addon, 'Normal', 'AppliedManifest', `Applied manifest at "${source}"`);
    return {
      addon,
      status: { appliedChecksum: sum, objects: applied.objects, conditions: [condition(addon)] },
      stale: staleObjects(previous, applied.objects),
    };
  }

  /** Deletes a gone file's objects, then its Addon; answers whether everything went. */
  private async remove(record: Addon): Promise<boolean> {
    const name = record.metadata!.name!;
    const left = await deleteObjects(this.api, this.kinds, name, record.status?.objects ?? []);
    this.applied.delete(name);
    this.failures.delete(name);
    if (left.length > 0) {
      await this.write(record, { ...record.status, objects: left });
      return false;
    }
    await this.addons.delete(NAMESPACE, name).catch(() => {});
    log.info({ file: record.spec?.source }, 'manifests: removed');
    this.recorder.event(record, 'Normal', 'DeletedManifest', `Deleted the objects of manifest "${record.spec?.source}"`);
    return true;
  }

  private write(addon: Addon, status: AddonStatus): Promise<Addon> {
    const { name } = addon.metadata!;
    // An empty status is left out: applying `status: {}` then a filled one loses the latter (a bug of apply).
    const body = {
      apiVersion: 'k3s.cattle.io/v1',
      kind: 'Addon',
      metadata: { name, namespace: NAMESPACE },
      spec: addon.spec,
      ...(Object.keys(status).length > 0 ? { status } : {}),
    };
    return this.addons.patch(NAMESPACE, name!, body, 'apply');
  }
}

/** The Applied condition, its transition time kept while its status stays. */
function condition(addon: Addon, error?: string): NonNullable<AddonStatus['conditions']>[number] {
  const status = error ? 'False' : 'True';
  const before = addon.status?.conditions?.find((c) => c.type === 'Applied');
  return {
    type: 'Applied',
    status,
    reason: error ? 'ApplyFailed' : 'Applied',
    message: error ?? 'every object of the file is applied',
    lastTransitionTime: before?.status === status && before.lastTransitionTime ? before.lastTransitionTime : nowTimestamp(),
  };
}
