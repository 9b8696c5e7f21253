// A pod's volumes on the node, under <pods-dir>/<uid>/volumes/<plugin>/<name> as the kubelet lays them
// out: emptyDir (tmpfs with medium Memory), configMap, secret (on tmpfs: secrets never touch the
// disk), downwardAPI and projected (with service account tokens, renewed before they expire) written
// atomically and refreshed on every sync; hostPath with its type checks; a PersistentVolumeClaim
// bound to a hostPath or local PersistentVolume.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import type { ConfigMap, KeyToPath, Secret, Volume, VolumeProjection } from 'kubernetes-types/core/v1.js';
import { parseQuantity } from '../../k8s/quantity.js';
import type { Writable } from '../../client/resources.js';
import { writeAtomically, type VolumeFile } from './atomic-writer.js';
import { fieldValue, resourceValue, type PodView } from './downward.js';
import type { PodSources } from './sources.js';

const run = promisify(execFile);

/** A volume that cannot be set up (yet): the pod waits in ContainerCreating with a FailedMount event. */
export class VolumeError extends Error {}

const PLUGIN: Record<string, string> = {
  emptyDir: 'empty-dir',
  configMap: 'configmap',
  secret: 'secret',
  downwardAPI: 'downward-api',
  projected: 'projected',
};

/** Volume kinds whose content the agent writes: mounted read-only, as upstream. */
export const WRITTEN_KINDS = ['configMap', 'secret', 'downwardAPI', 'projected'];

export const volumeKind = (v: Writable<Volume>) => Object.keys(v).find((k) => k !== 'name') ?? 'emptyDir';

const TOKEN_DEFAULT_SECONDS = 3600;

const mountPoints = () =>
  fs
    .readFileSync('/proc/self/mounts', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[1] ?? '');

/** Mount points below `dir`, deepest first (the order to unmount them in). */
export function mountsUnder(dir: string): string[] {
  return mountPoints()
    .filter((m) => m.startsWith(`${dir}/`))
    .sort()
    .reverse();
}

export class PodVolumes {
  /** Service account tokens by pod uid and volume: renewed at 80% of their life, as the kubelet does. */
  private readonly tokens = new Map<string, { token: string; renewAt: number }>();
  private readonly canMount = process.getuid?.() === 0;

  constructor(
    readonly podsDir: string,
    private readonly sources: PodSources,
  ) {}

  podDir(uid: string): string {
    return path.join(this.podsDir, uid);
  }

  /** Sets up (or refreshes) every volume of the pod; answers each volume's path on the host. */
  async setUp(view: PodView): Promise<Map<string, string>> {
    const paths = new Map<string, string>();
    for (const volume of view.pod.spec?.volumes ?? []) {
      try {
        paths.set(volume.name, await this.setUpOne(view, volume));
      } catch (err) {
        const reason = err instanceof VolumeError ? err.message : (err as Error).message;
        throw new VolumeError(`MountVolume.SetUp failed for volume "${volume.name}" : ${reason}`);
      }
    }
    return paths;
  }

  /** Unmounts what was mounted for the pod and removes its folder. */
  async tearDown(uid: string): Promise<void> {
    const dir = this.podDir(uid);
    for (const key of this.tokens.keys()) if (key.startsWith(`${uid}/`)) this.tokens.delete(key);
    if (!fs.existsSync(dir)) return;
    for (const m of mountsUnder(dir)) await run('umount', [m]).catch(() => run('umount', ['-l', m]));
    fs.rmSync(dir, { recursive: true, force: true });
  }

  /** Mounts a tmpfs on `dir` (once); `mode` is its root's, as the volume kind wants it. */
  private async tmpfs(dir: string, mode: string, sizeBytes?: number): Promise<void> {
    if (!this.canMount) return;
    if (mountPoints().includes(dir)) return;
    await run('mount', ['-t', 'tmpfs', '-o', [`mode=${mode}`, ...(sizeBytes ? [`size=${sizeBytes}`] : [])].join(','), 'tmpfs', dir]);
  }

  private async setUpOne(view: PodView, volume: Writable<Volume>): Promise<string> {
    const kind = volumeKind(volume);
    const uid = view.pod.metadata!.uid!;
    const dir = path.join(this.podDir(uid), 'volumes', `kubernetes.io~${PLUGIN[kind] ?? kind}`, volume.name);
    switch (kind) {
      case 'emptyDir': {
        fs.mkdirSync(dir, { recursive: true, mode: 0o777 });
        fs.chmodSync(dir, 0o777);
        if (volume.emptyDir?.medium === 'Memory')
          await this.tmpfs(dir, '0777', volume.emptyDir.sizeLimit ? parseQuantity(volume.emptyDir.sizeLimit as string) : undefined);
        return dir;
      }
      case 'hostPath':
        return hostPath(volume.hostPath!.path, volume.hostPath!.type ?? '');
      case 'persistentVolumeClaim':
        return this.claimPath(view, volume.persistentVolumeClaim!.claimName);
      case 'configMap':
      case 'secret':
      case 'downwardAPI':
      case 'projected': {
        fs.mkdirSync(dir, { recursive: true });
        if (kind === 'secret' || kind === 'projected') await this.tmpfs(dir, '0755');
        writeAtomically(dir, await this.files(view, volume, kind));
        return dir;
      }
    }
    throw new VolumeError(`volume type ${kind} is not supported by this node`);
  }

  private async files(view: PodView, volume: Writable<Volume>, kind: string): Promise<VolumeFile[]> {
    const ns = view.pod.metadata!.namespace!;
    if (kind === 'configMap') {
      const src = volume.configMap!;
      return keyFiles(
        await this.sources.configMap(ns, src.name!),
        src.items,
        src.optional,
        src.defaultMode,
        `configmap "${src.name}" not found`,
        configMapData,
      );
    }
    if (kind === 'secret') {
      const src = volume.secret!;
      return keyFiles(
        await this.sources.secret(ns, src.secretName!),
        src.items,
        src.optional,
        src.defaultMode,
        `secret "${src.secretName}" not found`,
        secretData,
      );
    }
    if (kind === 'downwardAPI') return downwardFiles(view, volume.downwardAPI!.items ?? [], volume.downwardAPI!.defaultMode, this.sources);
    const files: VolumeFile[] = [];
    for (const source of volume.projected!.sources ?? [])
      files.push(...(await this.projectedFiles(view, volume.name, source, volume.projected!.defaultMode)));
    return files;
  }

  private async projectedFiles(
    view: PodView,
    volumeName: string,
    source: Writable<VolumeProjection>,
    defaultMode: number | undefined,
  ): Promise<VolumeFile[]> {
    const ns = view.pod.metadata!.namespace!;
    if (source.configMap) {
      const src = source.configMap;
      return keyFiles(
        await this.sources.configMap(ns, src.name!),
        src.items,
        src.optional,
        defaultMode,
        `configmap "${src.name}" not found`,
        configMapData,
      );
    }
    if (source.secret) {
      const src = source.secret;
      return keyFiles(
        await this.sources.secret(ns, src.name!),
        src.items,
        src.optional,
        defaultMode,
        `secret "${src.name}" not found`,
        secretData,
      );
    }
    if (source.downwardAPI) return downwardFiles(view, source.downwardAPI.items ?? [], defaultMode, this.sources);
    if (source.serviceAccountToken) {
      const src = source.serviceAccountToken;
      const key = `${view.pod.metadata!.uid}/${volumeName}/${src.path}`;
      let cached = this.tokens.get(key);
      if (!cached || Date.now() >= cached.renewAt) {
        const seconds = src.expirationSeconds ?? TOKEN_DEFAULT_SECONDS;
        const issued = await this.sources.serviceAccountToken(view.pod, src.audience, seconds);
        // At 80% of what is left of its life: a token kept from before (the API away) is asked for again soon.
        const expires = Date.parse(issued.expirationTimestamp) || Date.now() + seconds * 1000;
        cached = { token: issued.token, renewAt: Date.now() + (expires - Date.now()) * 0.8 };
        this.tokens.set(key, cached);
      }
      return [{ path: src.path, data: cached.token, mode: defaultMode ?? 0o644 }];
    }
    return [];
  }

  private async claimPath(view: PodView, claimName: string): Promise<string> {
    const claim = await this.sources.claim(view.pod.metadata!.namespace!, claimName);
    if (!claim) throw new VolumeError(`persistentvolumeclaim "${claimName}" not found`);
    const pvName = claim.spec?.volumeName;
    if (!pvName) throw new VolumeError(`persistentvolumeclaim "${claimName}" is not bound to a volume yet`);
    const pv = await this.sources.volume(pvName);
    if (!pv) throw new VolumeError(`persistentvolume "${pvName}" not found`);
    const local = pv.spec?.hostPath?.path ?? pv.spec?.local?.path;
    if (!local) throw new VolumeError(`persistentvolume "${pvName}" is neither hostPath nor local, the kinds this node can mount`);
    return hostPath(local, pv.spec?.hostPath?.type ?? (pv.spec?.local ? 'Directory' : 'DirectoryOrCreate'));
  }
}

const configMapData = (cm: Writable<ConfigMap>) => ({
  ...Object.fromEntries(Object.entries(cm.binaryData ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64')])),
  ...cm.data,
});
const secretData = (s: Writable<Secret>) => Object.fromEntries(Object.entries(s.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64')]));

function keyFiles<T>(
  obj: T | undefined,
  items: Writable<KeyToPath>[] | undefined,
  optional: boolean | undefined,
  defaultMode: number | undefined,
  missing: string,
  data: (obj: T) => Record<string, Buffer | string>,
): VolumeFile[] {
  if (!obj) {
    if (optional) return [];
    throw new VolumeError(missing);
  }
  const values = data(obj);
  const mode = defaultMode ?? 0o644;
  if (!items?.length) return Object.entries(values).map(([key, value]) => ({ path: key, data: value, mode }));
  return items.flatMap((item) => {
    const value = values[item.key];
    if (value === undefined) {
      if (optional) return [];
      throw new VolumeError(`${missing.split(' ')[0]} references non-existent key ${item.key}`);
    }
    return [{ path: item.path, data: value, mode: item.mode ?? mode }];
  });
}

function downwardFiles(
  view: PodView,
  items: NonNullable<Writable<Volume>['downwardAPI']>['items'] & object,
  defaultMode: number | undefined,
  sources: PodSources,
): VolumeFile[] {
  return items.map((item) => {
    const data = item.fieldRef
      ? fieldValue(view, item.fieldRef, true)
      : item.resourceFieldRef
        ? resourceValue(view, undefined, item.resourceFieldRef, sources.allocatable())
        : '';
    return { path: item.path, data, mode: item.mode ?? defaultMode ?? 0o644 };
  });
}

/** A hostPath volume's path after its type check (creating it for the *OrCreate types). */
function hostPath(p: string, type: string): string {
  const stat = () => fs.statSync(p, { throwIfNoEntry: false });
  const want = (ok: boolean, what: string) => {
    if (!ok) throw new VolumeError(`hostPath type check failed: ${p} is not a ${what}`);
  };
  switch (type) {
    case 'DirectoryOrCreate':
      fs.mkdirSync(p, { recursive: true, mode: 0o755 });
      break;
    case 'FileOrCreate':
      if (!stat()) {
        fs.mkdirSync(path.dirname(p), { recursive: true });
        fs.writeFileSync(p, '', { mode: 0o644 });
      }
      break;
    case 'Directory':
      want(!!stat()?.isDirectory(), 'directory');
      break;
    case 'File':
      want(!!stat()?.isFile(), 'file');
      break;
    case 'Socket':
      want(!!stat()?.isSocket(), 'socket');
      break;
    case 'CharDevice':
      want(!!stat()?.isCharacterDevice(), 'character device');
      break;
    case 'BlockDevice':
      want(!!stat()?.isBlockDevice(), 'block device');
      break;
  }
  return p;
}
