// Who a node is and what it may say about itself, shared by the API server (the Node authorizer,
// NodeRestriction admission), the server (its own node's roles) and the agent (its --node-label):
// a node is the user system:node:<name> in the group system:nodes, and of the labels under
// kubernetes.io and k8s.io it may set only the kubelet's own (upstream's kubelet well-known labels).

export const NODES_GROUP = 'system:nodes';
export const NODE_USER_PREFIX = 'system:node:';
/** The signer of nodes' client certificates, whose CertificateSigningRequests the server approves. */
export const KUBELET_CLIENT_SIGNER = 'kubernetes.io/kube-apiserver-client-kubelet';

/** The user a node's credentials name. */
export function nodeUser(nodeName: string): { username: string; groups: string[] } {
  return { username: `${NODE_USER_PREFIX}${nodeName}`, groups: [NODES_GROUP] };
}

/** Upstream's NodeIdentity: a node is a user named system:node:<name> in the system:nodes group. */
export function nodeIdentity(user: { username: string; groups: string[] }): { isNode: boolean; nodeName: string } {
  if (!user.groups.includes(NODES_GROUP) || !user.username.startsWith(NODE_USER_PREFIX)) return { isNode: false, nodeName: '' };
  return { isNode: true, nodeName: user.username.slice(NODE_USER_PREFIX.length) };
}

/** Labels only the cluster's administrators may set on a node, to steer workloads to nodes they trust. */
export const NODE_RESTRICTION_NAMESPACE = 'node-restriction.kubernetes.io';

const KUBELET_LABELS = new Set([
  'kubernetes.io/hostname',
  'topology.kubernetes.io/zone',
  'topology.kubernetes.io/region',
  'failure-domain.beta.kubernetes.io/zone',
  'failure-domain.beta.kubernetes.io/region',
  'beta.kubernetes.io/instance-type',
  'node.kubernetes.io/instance-type',
  'kubernetes.io/os',
  'kubernetes.io/arch',
  'beta.kubernetes.io/os',
  'beta.kubernetes.io/arch',
]);
const KUBELET_LABEL_NAMESPACES = ['kubelet.kubernetes.io', 'node.kubernetes.io'];

const labelNamespace = (key: string) => (key.includes('/') ? key.slice(0, key.indexOf('/')) : '');
const within = (namespace: string, domain: string) => namespace === domain || namespace.endsWith(`.${domain}`);

/** A label the kubelet may set on its own Node (upstream's IsKubeletLabel). */
export function isKubeletLabel(key: string): boolean {
  if (KUBELET_LABELS.has(key)) return true;
  const ns = labelNamespace(key);
  return KUBELET_LABEL_NAMESPACES.some((d) => within(ns, d));
}

/** Of the label keys a node would add, change or remove, those it may not (sorted): node-restriction.kubernetes.io ones, and
 * kubernetes.io/k8s.io ones that are not the kubelet's. */
export function forbiddenNodeLabels(keys: Iterable<string>): string[] {
  const out = new Set<string>();
  for (const key of keys) {
    const ns = labelNamespace(key);
    if (within(ns, NODE_RESTRICTION_NAMESPACE)) out.add(key);
    if ((within(ns, 'kubernetes.io') || within(ns, 'k8s.io')) && !isKubeletLabel(key)) out.add(key);
  }
  return [...out].sort();
}

/** Keys whose value differs between two label sets (added, removed or changed). */
export function modifiedLabels(a: Record<string, string> = {}, b: Record<string, string> = {}): string[] {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...keys].filter((k) => a[k] !== b[k]);
}
