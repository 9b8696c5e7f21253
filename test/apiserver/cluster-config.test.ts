// What agents read of the cluster (K3s's /v1-k3s/config) and the kube-dns Service at the cluster
// DNS address, which every node answers itself.
import t from 'tap';
import { DEFAULT_CLUSTER_CONFIG } from '../../src/k8s/cluster-config.js';
import { apiHarness } from './harness.js';

t.test('agents read the cluster network; kube-dns holds the cluster DNS address', async (t) => {
  const h = await apiHarness(t);
  const config = await h.request('GET', '/v1-skiff/config');
  t.equal(config.status, 200);
  t.same(config.body, DEFAULT_CLUSTER_CONFIG);
  const dns = await h.request('GET', '/api/v1/namespaces/kube-system/services/kube-dns');
  t.match(dns.body.spec, {
    clusterIP: '10.43.0.10',
    ports: [
      { name: 'dns', port: 53, protocol: 'UDP' },
      { name: 'dns-tcp', port: 53, protocol: 'TCP' },
    ],
  });
  t.notOk(dns.body.spec.selector, 'no pods behind it: each node serves the address');
  const taken = await h.request('POST', '/api/v1/namespaces/default/services', {
    metadata: { name: 'squatter' },
    spec: { clusterIP: '10.43.0.10', ports: [{ port: 53 }] },
  });
  t.equal(taken.status, 422, 'no other Service may take the address');
});
