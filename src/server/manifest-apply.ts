// Applying one manifest file's objects and deleting the objects an Addon no longer wants, through the
// REST client as any client would: server-side apply with force, as K3s's deployer takes over fields
// another manager set (the file is the truth), and every object labelled with its Addon's name.
import type { AddonObject } from '../api/registry/builtin/k3s.js';
import type { ApiClient } from '../client/rest-client.js';
import { customResourceDefinitions } from '../client/resources.js';
import { sleep } from '../client/sleep.js';
import { isNotFound, isPreconditionFailed } from '../k8s/errors.js';
import { applyOrder, type ManifestObject } from './manifest-files.js';
import type { KindResolver } from './manifest-kinds.js';

/** The label naming the Addon an object came from: how `kubectl get -l` and removal find it. */
export const ADDON_LABEL = 'skiff.io/addon';

const ESTABLISH_WAIT_MS = 10_000;

export interface Applied {
  objects: AddonObject[];
  /** Every object that could not be applied, with why; absent when all were. */
  error?: string;
}

export const errorMessage = (err: unknown) => (err instanceof Error ? err.message : String(err));

/** Applies every object (CRDs and namespaces first), going on past failures so that one bad object does not hold back the rest. */
export async function applyObjects(api: ApiClient, kinds: KindResolver, addon: string, objects: ManifestObject[]): Promise<Applied> {
  const out: Applied = { objects: [] };
  const errors: string[] = [];
  const crds: string[] = [];
  for (const obj of applyOrder(objects)) {
    try {
      // Kinds of CRDs this file defines are served once the CRDs are established.
      if (crds.length > 0 && obj.kind !== 'CustomResourceDefinition') {
        await waitEstablished(api, crds.splice(0));
        kinds.forget();
      }
      const type = await kinds.resolve(obj.apiVersion, obj.kind);
      if (!type) throw new Error(`no matches for kind "${obj.kind}" in version "${obj.apiVersion}"`);
      const namespace = type.namespaced ? (obj.metadata.namespace ?? 'default') : undefined;
      const labels = { ...obj.metadata.labels, [ADDON_LABEL]: addon };
      const body = { ...obj, metadata: { ...obj.metadata, labels, ...(namespace ? { namespace } : {}) } };
      await api.resource(type).patch(namespace, obj.metadata.name, body, 'apply');
      out.objects.push({ apiVersion: obj.apiVersion, kind: obj.kind, ...(namespace ? { namespace } : {}), name: obj.metadata.name });
      if (obj.kind === 'CustomResourceDefinition') crds.push(obj.metadata.name);
    } catch (err) {
      errors.push(`${obj.kind} ${obj.metadata.name}: ${errorMessage(err)}`);
    }
  }
  if (errors.length > 0) out.error = errors.join('; ');
  return out;
}

async function waitEstablished(api: ApiClient, names: string[]): Promise<void> {
  const client = api.resource(customResourceDefinitions);
  const established = async (name: string) =>
    (await client.get(undefined, name)).status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True');
  const end = Date.now() + ESTABLISH_WAIT_MS;
  for (const name of names) while (!(await established(name).catch(() => false)) && Date.now() < end) await sleep(100);
}

/**
 * Deletes the objects (last applied first) that still carry `addon`'s label: one another file has
 * taken over since, or a user has relabelled, is left alone. Answers those that could not be deleted.
 */
export async function deleteObjects(api: ApiClient, kinds: KindResolver, addon: string, refs: AddonObject[]): Promise<AddonObject[]> {
  const left: AddonObject[] = [];
  for (const ref of [...refs].reverse()) {
    try {
      // A kind no longer served (its CRD deleted) took its objects with it.
      const type = await kinds.resolve(ref.apiVersion, ref.kind);
      if (!type) continue;
      const client = api.resource(type);
      const live = await client.get(ref.namespace, ref.name);
      if (live.metadata?.labels?.[ADDON_LABEL] !== addon) continue;
      await client.delete(ref.namespace, ref.name, { propagationPolicy: 'Background', preconditions: { uid: live.metadata.uid } });
    } catch (err) {
      if (!isNotFound(err) && !isPreconditionFailed(err)) left.push(ref);
    }
  }
  return left;
}
