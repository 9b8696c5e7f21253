// The Kubernetes version Skiff implements: the API server reports it at /version and nodes as their
// kubelet version.
export const KUBERNETES_VERSION = { major: '1', minor: '32', gitVersion: 'v1.32.0+skiff1' };
