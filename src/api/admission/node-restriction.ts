// NodeRestriction admission (upstream's plugin/pkg/admission/noderestriction): what a node writes,
// checked against who it is. A node may create and change only its own Node, without labels outside
// the kubelet's own (no node-role.kubernetes.io, no node-restriction.kubernetes.io) and without
// touching its taints; only its own Lease in kube-node-lease; the status of pods bound to it (not
// their labels); mirror pods bound to itself that reference nothing else; and only the status of a
// claim. Deletions never reach admission here: the Node authorizer keeps a node to its own pods.
import { ApiError } from '../../k8s/errors.js';
import type { KObject, StoredObject } from '../../k8s/object.js';
import { forbiddenNodeLabels, modifiedLabels, nodeIdentity } from '../../k8s/nodes.js';
import { podReferences } from '../../k8s/pod-references.js';
import type { ResourceDef } from '../registry/types.js';
import type { ObjectReader } from '../storage/object-store.js';
import type { AdmissionPlugin } from './plugin.js';

export const MIRROR_POD_ANNOTATION = 'kubernetes.io/config.mirror';
const NODE_LEASE_NAMESPACE = 'kube-node-lease';

interface PodSpecLike {
  nodeName?: string;
  serviceAccountName?: string;
  volumes?: { persistentVolumeClaim?: unknown; projected?: { sources?: { clusterTrustBundle?: unknown }[] } }[];
}

/** `nodes "n2" is forbidden: node "n1" is not allowed to modify node "n2"`, as admission.NewForbidden words it. */
export function admissionForbidden(def: ResourceDef, name: string, why: string): ApiError {
  const qualified = def.group ? `${def.plural}.${def.group}` : def.plural;
  return new ApiError(403, 'Forbidden', `${qualified} "${name}" is forbidden: ${why}`, {
    name,
    group: def.group || undefined,
    kind: def.plural,
  });
}

const json = (v: unknown) => JSON.stringify(v ?? null);

export function nodeRestrictionAdmission(objects: ObjectReader, nodesDef: () => ResourceDef | undefined): AdmissionPlugin {
  return {
    group: '*',
    resource: '*',
    async admit(def, obj, old, ctx) {
      if (!ctx.user) return;
      const { isNode, nodeName } = nodeIdentity(ctx.user);
      if (!isNode) return;
      const name = obj.metadata?.name ?? old?.metadata.name ?? '';
      const deny = (why: string) => admissionForbidden(def, name, why);
      if (!nodeName) throw deny(`could not determine node from user "${ctx.user.username}"`);
      const subresource = ctx.subresource ?? ((ctx as { toStatus?: boolean }).toStatus ? 'status' : '');
      if (def.group === '' && def.plural === 'nodes') return admitNode(nodeName, obj, old, deny);
      if (def.group === '' && def.plural === 'pods') return admitPod(nodeName, obj, old, subresource, deny, objects, nodesDef);
      if (def.group === '' && def.plural === 'persistentvolumeclaims') return admitClaim(nodeName, obj, old, subresource, deny);
      if (def.group === 'coordination.k8s.io' && def.plural === 'leases') {
        if (obj.metadata?.namespace !== NODE_LEASE_NAMESPACE)
          throw deny(`can only access leases in the "${NODE_LEASE_NAMESPACE}" system namespace`);
        if (name !== nodeName) throw deny('can only access node lease with the same name as the requesting node');
      }
    },
  };
}

function admitNode(node: string, obj: KObject, old: StoredObject | undefined, deny: (why: string) => ApiError): void {
  const name = obj.metadata?.name ?? '';
  if (name !== node) throw deny(`node "${node}" is not allowed to modify node "${name}"`);
  const labels = obj.metadata?.labels as Record<string, string> | undefined;
  if (!old) {
    const forbidden = forbiddenNodeLabels(Object.keys(labels ?? {}));
    if (forbidden.length) throw deny(`node "${node}" is not allowed to set the following labels: ${forbidden.join(', ')}`);
    return;
  }
  const taints = (o: KObject) => (o.spec as { taints?: unknown[] } | undefined)?.taints ?? [];
  if (json(taints(obj)) !== json(taints(old))) throw deny(`node "${node}" is not allowed to modify taints`);
  const forbidden = forbiddenNodeLabels(modifiedLabels(labels, old.metadata.labels as Record<string, string> | undefined));
  if (forbidden.length) throw deny(`is not allowed to modify labels: ${forbidden.join(', ')}`);
}

async function admitPod(
  node: string,
  obj: KObject,
  old: StoredObject | undefined,
  subresource: string,
  deny: (why: string) => ApiError,
  objects: ObjectReader,
  nodesDef: () => ResourceDef | undefined,
): Promise<void> {
  if (subresource === 'status') {
    if ((old?.spec as PodSpecLike | undefined)?.nodeName !== node)
      throw deny(`node "${node}" can only update pod status for pods with spec.nodeName set to itself`);
    if (json(obj.metadata?.labels ?? {}) !== json(old?.metadata.labels ?? {}))
      throw deny(`node "${node}" cannot update labels through pod status`);
    return;
  }
  if (subresource) throw deny(`unexpected pod subresource "${subresource}", only 'status' and 'eviction' are allowed`);
  if (old) throw deny(`unexpected operation "UPDATE", node "${node}" can only create and delete mirror pods`);
  await admitMirrorPod(node, obj, deny, objects, nodesDef);
}

/** A node creates only mirror pods of its static pods: bound to itself, owned by its Node, referencing nothing else. */
async function admitMirrorPod(
  node: string,
  pod: KObject,
  deny: (why: string) => ApiError,
  objects: ObjectReader,
  nodesDef: () => ResourceDef | undefined,
): Promise<void> {
  const annotations = (pod.metadata?.annotations ?? {}) as Record<string, string>;
  if (!(MIRROR_POD_ANNOTATION in annotations))
    throw deny(`pod does not have "${MIRROR_POD_ANNOTATION}" annotation, node "${node}" can only create mirror pods`);
  const spec = (pod.spec ?? {}) as PodSpecLike;
  if (spec.nodeName !== node) throw deny(`node "${node}" can only create pods with spec.nodeName set to itself`);
  const owners = pod.metadata?.ownerReferences ?? [];
  if (owners.length > 1) throw deny(`node "${node}" can only create pods with a single owner reference set to itself`);
  const owner = owners[0];
  if (owner?.apiVersion !== 'v1' || owner.kind !== 'Node' || owner.name !== node)
    throw deny(`node "${node}" can only create pods with an owner reference set to itself`);
  if (!owner.controller) throw deny(`node "${node}" can only create pods with a controller owner reference set to itself`);
  if (owner.blockOwnerDeletion) throw deny(`node "${node}" must not set blockOwnerDeletion on an owner reference`);
  const def = nodesDef();
  const own = def && (await objects.tryGet(def, undefined, node));
  if (!own) throw deny(`node "${node}" does not exist`);
  if (owner.uid !== own.metadata.uid) throw deny(`node ${node} UID mismatch: expected ${owner.uid} got ${own.metadata.uid}`);
  if (spec.serviceAccountName) throw deny(`node "${node}" can not create pods that reference a service account`);
  const refs = podReferences(pod);
  if (refs.secrets.length) throw deny(`node "${node}" can not create pods that reference secrets`);
  if (refs.configMaps.length) throw deny(`node "${node}" can not create pods that reference configmaps`);
  for (const v of spec.volumes ?? []) {
    if (v.projected?.sources?.some((s) => s.clusterTrustBundle))
      throw deny(`node "${node}" can not create pods that reference clustertrustbundles`);
    if (v.persistentVolumeClaim) throw deny(`node "${node}" can not create pods that reference persistentvolumeclaims`);
  }
}

function admitClaim(node: string, obj: KObject, old: StoredObject | undefined, subresource: string, deny: (why: string) => ApiError): void {
  if (subresource !== 'status' || !old) throw deny('may only update PVC status');
  const strip = (o: KObject) => {
    const { status, metadata, ...rest } = o as KObject & { status?: Record<string, unknown> };
    const { capacity: _c, conditions: _k, allocatedResources: _a, allocatedResourceStatuses: _s, ...keep } = status ?? {};
    const { resourceVersion: _rv, managedFields: _m, ...meta } = metadata ?? {};
    return json({ ...rest, metadata: meta, status: keep });
  };
  if (strip(obj) !== strip(old))
    throw deny(`node "${node}" is not allowed to update fields other than status.capacity and status.conditions`);
}
