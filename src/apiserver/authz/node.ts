// The Node authorizer (kube-apiserver's --authorization-mode=Node): a node's agent, authenticated as
// system:node:<name> in system:nodes, may read only the Secrets, ConfigMaps, PersistentVolumeClaims,
// PersistentVolumes and service account tokens of the pods bound to it (the graph), delete and
// report the status of its own pods, write its own Node and Lease (NodeRestriction admission checks the
// writes' contents), and do what every node needs (upstream's system:node rules, plus the reads of
// Skiff's node network: Services, Endpoints, EndpointSlices, Ingresses, the cluster config; and by name
// the TLS Secrets of Skiff's Ingresses, which every node's ingress serves). Anything else gets no
// opinion, so RBAC decides; anyone not a node gets no opinion at all.
import type { UserInfo } from '../authn.js';
import type { Authorizer, Decision } from './authorizer.js';
import type { VertexType } from './node-graph.js';
import type { RequestInfo } from './request-info.js';
import { CLUSTER_CONFIG_PATH } from '../../k8s/cluster-config.js';
import { nodeIdentity } from '../../k8s/nodes.js';

export { nodeIdentity };
/** Where nodes keep their Leases (upstream's kube-node-lease). */
export const NODE_LEASE_NAMESPACE = 'kube-node-lease';

/** What the graph tells: is there a path from the object to the node? */
export interface NodeGraphQuery {
  hasPath(node: string, type: VertexType, namespace: string, name: string): Promise<boolean> | boolean;
  /** Whether an Ingress of Skiff's ingress names this Secret for TLS (every node's ingress serves it). */
  ingressTlsSecret?(namespace: string, name: string): Promise<boolean> | boolean;
}

interface Rule {
  groups: string[];
  resources: string[];
  verbs: string[];
}

const READ = ['get', 'list', 'watch'];

/**
 * What every node may do beyond the graph's answers: upstream's NodeRules (bootstrappolicy), with
 * Skiff's node network added (the Service rules and cluster DNS read Services and EndpointSlices, the
 * pod network every Node). Secrets, ConfigMaps, claims, volumes, pods, nodes, leases and token
 * requests are decided apart, above these.
 */
export const NODE_RULES: readonly Rule[] = [
  // Checking API access; these creates change nothing.
  { groups: ['authentication.k8s.io'], resources: ['tokenreviews'], verbs: ['create'] },
  { groups: ['authorization.k8s.io'], resources: ['subjectaccessreviews', 'localsubjectaccessreviews'], verbs: ['create'] },
  // Services for pods' environment variables, and for the node's Service rules and cluster DNS.
  { groups: [''], resources: ['services'], verbs: READ },
  { groups: [''], resources: ['endpoints'], verbs: READ },
  { groups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: READ },
  // The node's ingress routes by the Ingresses of its classes.
  { groups: ['networking.k8s.io'], resources: ['ingresses', 'ingressclasses'], verbs: READ },
  // NetworkPolicy on the node reads the policies and the namespaces' labels.
  { groups: ['networking.k8s.io'], resources: ['networkpolicies'], verbs: READ },
  { groups: [''], resources: ['namespaces'], verbs: READ },
  { groups: ['', 'events.k8s.io'], resources: ['events'], verbs: ['create', 'update', 'patch'] },
  // Its own client certificate, requested and renewed through a CertificateSigningRequest.
  { groups: ['certificates.k8s.io'], resources: ['certificatesigningrequests'], verbs: ['create', 'get', 'list', 'watch'] },
  { groups: ['storage.k8s.io'], resources: ['volumeattachments'], verbs: ['get'] },
  { groups: ['storage.k8s.io'], resources: ['csidrivers'], verbs: READ },
  { groups: ['node.k8s.io'], resources: ['runtimeclasses'], verbs: READ },
];

/** Paths outside the API every node reads: the cluster's network settings. */
export const NODE_PATHS: readonly string[] = [CLUSTER_CONFIG_PATH];

const allow: Decision = { decision: 'allow' };
const noOpinion = (reason?: string): Decision => ({ decision: 'no-opinion', ...(reason ? { reason } : {}) });

function rulesAllow(info: RequestInfo): boolean {
  const resource = info.subresource ? `${info.resource}/${info.subresource}` : info.resource;
  return NODE_RULES.some((r) => r.groups.includes(info.apiGroup) && r.resources.includes(resource) && r.verbs.includes(info.verb));
}

export class NodeAuthorizer implements Authorizer {
  constructor(private readonly graph: NodeGraphQuery) {}

  /** Upstream's answer to rule listing: a node's rights depend on its pods, so they are not listed. */
  rulesFor(user: UserInfo) {
    const incomplete = nodeIdentity(user).isNode;
    const errors = incomplete ? ['node authorizer does not support user rule resolution'] : [];
    return { resourceRules: [], nonResourceRules: [], incomplete, errors };
  }

  async authorize(user: UserInfo, info: RequestInfo): Promise<Decision> {
    const { isNode, nodeName } = nodeIdentity(user);
    if (!isNode) return noOpinion();
    if (!nodeName) return noOpinion(`unknown node for user "${user.username}"`);
    if (!info.isResourceRequest) return info.verb === 'get' && NODE_PATHS.includes(info.path) ? allow : noOpinion();
    const group = info.apiGroup;
    if (group === '') {
      switch (info.resource) {
        case 'secrets':
          return this.secret(nodeName, info);
        case 'configmaps':
          return this.readNamespaced(nodeName, 'configmap', info);
        case 'persistentvolumeclaims':
          return info.subresource === 'status' ? this.statusUpdate(nodeName, 'pvc', info) : this.get(nodeName, 'pvc', info);
        case 'persistentvolumes':
          return this.get(nodeName, 'pv', info);
        case 'serviceaccounts':
          return this.createToken(nodeName, info);
        case 'nodes':
          return this.node(nodeName, info);
        case 'pods':
          return this.pod(nodeName, info);
      }
    }
    if (group === 'coordination.k8s.io' && info.resource === 'leases') return this.lease(nodeName, info);
    if (group === 'storage.k8s.io' && info.resource === 'csinodes') return this.csiNode(nodeName, info);
    return rulesAllow(info) ? allow : noOpinion();
  }

  private async related(node: string, type: VertexType, info: RequestInfo): Promise<Decision> {
    if (!info.name) return noOpinion('No Object name found');
    if (await this.graph.hasPath(node, type, info.namespace, info.name)) return allow;
    return noOpinion(`no relationship found between node '${node}' and this object`);
  }

  private readNamespaced(node: string, type: VertexType, info: RequestInfo): Promise<Decision> | Decision {
    if (!READ.includes(info.verb)) return noOpinion('can only read resources of this type');
    if (info.subresource) return noOpinion('cannot read subresource');
    if (!info.namespace) return noOpinion('can only read namespaced object of this type');
    return this.related(node, type, info);
  }

  /**
   * The Secrets of its pods, and (get by name only, no list or watch) the TLS Secrets of the Ingresses
   * every node's ingress serves: what Traefik's service account reads in K3s, narrowed to those.
   */
  private async secret(node: string, info: RequestInfo): Promise<Decision> {
    const decision = await this.readNamespaced(node, 'secret', info);
    if (decision.decision === 'allow' || info.verb !== 'get' || info.subresource || !info.name || !info.namespace) return decision;
    return (await this.graph.ingressTlsSecret?.(info.namespace, info.name)) ? allow : decision;
  }

  private get(node: string, type: VertexType, info: RequestInfo): Promise<Decision> | Decision {
    if (info.verb !== 'get') return noOpinion('can only get individual resources of this type');
    if (info.subresource) return noOpinion('cannot get subresource');
    return this.related(node, type, info);
  }

  private statusUpdate(node: string, type: VertexType, info: RequestInfo): Promise<Decision> | Decision {
    if (info.verb !== 'update' && info.verb !== 'patch') return noOpinion('can only get/update/patch this type');
    return this.related(node, type, info);
  }

  private createToken(node: string, info: RequestInfo): Promise<Decision> | Decision {
    if (info.verb !== 'create' || !info.name) return noOpinion('can only create tokens for individual service accounts');
    if (info.subresource !== 'token') return noOpinion('can only create token subresource of serviceaccount');
    return this.related(node, 'serviceaccount', info);
  }

  private lease(node: string, info: RequestInfo): Decision {
    if (!['get', 'create', 'update', 'patch', 'delete'].includes(info.verb))
      return noOpinion('can only get, create, update, patch, or delete a node lease');
    if (info.namespace !== NODE_LEASE_NAMESPACE)
      return noOpinion(`can only access leases in the "${NODE_LEASE_NAMESPACE}" system namespace`);
    // A create names no object in its URL: NodeRestriction checks the name in the body.
    if (info.verb !== 'create' && info.name !== node)
      return noOpinion('can only access node lease with the same name as the requesting node');
    return allow;
  }

  private csiNode(node: string, info: RequestInfo): Decision {
    if (!['get', 'create', 'update', 'patch', 'delete'].includes(info.verb))
      return noOpinion('can only get, create, update, patch, or delete a CSINode');
    if (info.subresource) return noOpinion('cannot authorize CSINode subresources');
    if (info.verb !== 'create' && info.name !== node) return noOpinion('can only access CSINode with the same name as the requesting node');
    return allow;
  }

  /**
   * Nodes: read any (the pod network follows every node), create and update (NodeRestriction keeps a
   * node to its own Node and to the labels a kubelet may set), status of its own. No deletes.
   */
  private node(node: string, info: RequestInfo): Decision {
    const write = info.verb === 'update' || info.verb === 'patch';
    if (info.subresource === '' && (READ.includes(info.verb) || info.verb === 'create')) return allow;
    if ((info.subresource === '' || info.subresource === 'status') && write) {
      return info.name === node ? allow : noOpinion(`node "${node}" is not allowed to modify node "${info.name}"`);
    }
    return noOpinion();
  }

  /**
   * Pods: reads of any (upstream's system:node rules before AuthorizeNodeWithSelectors: Skiff's node
   * enforces NetworkPolicy itself and so follows every pod, its peers on other nodes included, as
   * K3s's agent does); status, deletion and eviction of its own; mirror pods only (NodeRestriction).
   */
  private async pod(node: string, info: RequestInfo): Promise<Decision> {
    switch (info.subresource) {
      case '':
        if (READ.includes(info.verb)) return allow;
        if (info.verb === 'delete') return this.related(node, 'pod', info);
        if (info.verb === 'create') return allow;
        break;
      case 'status':
        if (info.verb === 'update' || info.verb === 'patch') return this.related(node, 'pod', info);
        break;
      case 'eviction':
        if (info.verb === 'create') return this.related(node, 'pod', info);
        break;
    }
    return noOpinion();
  }
}
