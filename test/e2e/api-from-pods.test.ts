// In-cluster clients: a pod with its service account token reaches the API server by the name
// every pod is told, kubernetes.default (cluster DNS, then the Service's ClusterIP, then the
// server's address), from the server's own node and from a joined one, and the certificate holds.
import { execFileSync } from 'node:child_process';
import t from 'tap';
import { startAgent } from '../helpers/agents.js';
import { startCluster, type Cluster } from '../helpers/cluster.js';
import { eventually } from '../helpers/eventually.js';
import { buildCurlImage } from '../helpers/images.js';
import { createNetLab } from '../helpers/netlab.js';
import { podWhen } from '../helpers/pods.js';
import { tempDir } from '../helpers/tmp.js';

const CURL = 'skiff.local/curl:1';
const SA = '/var/run/secrets/kubernetes.io/serviceaccount';

t.test('pods on every node call the API at kubernetes.default with their token', async (t) => {
  const lab = createNetLab(t, 2);
  const [serverHost, agentHost] = lab.hosts as [(typeof lab.hosts)[0], (typeof lab.hosts)[0]];
  const c = await startCluster(t, ['--node-name', 'n0'], { agent: true, host: serverHost });
  const agent = await startAgent(t, c, agentHost, { name: 'n1', args: ['--node-external-ip', '192.0.2.41'] });
  t.teardown(() => c.kubectl(['delete', 'pod', '--all', '--wait', '--timeout=90s']));
  // The curl image goes straight into each node's containerd (ctr reaches its socket from here).
  const tar = buildCurlImage(tempDir(t), CURL);
  for (const socket of [c.node!.socket, agent.node.socket])
    execFileSync('ctr', ['--address', socket, '-n', 'k8s.io', 'images', 'import', tar]);
  t.match(
    JSON.parse(await c.k('get', 'node', 'n1', '-o', 'jsonpath={.status.addresses}')),
    [
      { type: 'InternalIP', address: agentHost.ip },
      { type: 'ExternalIP', address: '192.0.2.41' },
    ],
    '--node-external-ip is reported as the ExternalIP',
  );
  await c.k('create', 'clusterrolebinding', 'default-view', '--clusterrole=view', '--serviceaccount=default:default');
  for (const node of ['n0', 'n1']) {
    const call = [
      `curl -sS --cacert ${SA}/ca.crt -H "Authorization: Bearer $(cat ${SA}/token)"`,
      'https://kubernetes.default.svc/api/v1/namespaces/default/pods?labelSelector=caller',
      '-o /tmp/answer -w "%{http_code}\\n"; cat /tmp/answer; echo; sleep 3600',
    ].join(' ');
    const overrides = { spec: { nodeName: node } };
    await c.k(
      'run',
      `caller-${node}`,
      `--image=${CURL}`,
      '-l',
      'caller=yes',
      '--overrides',
      JSON.stringify(overrides),
      '--',
      'sh',
      '-c',
      call,
    );
  }
  for (const node of ['n0', 'n1']) {
    await podWhen(c, `caller-${node}`, (p) => p.status?.phase === 'Running');
    const answer = await answerOf(c, `caller-${node}`);
    const [code, ...body] = answer.split('\n');
    t.equal(code, '200', `a pod on ${node} is answered by the API server`);
    const list = JSON.parse(body.join('\n'));
    t.equal(list.kind, 'PodList');
    t.ok(
      list.items.some((p: { metadata: { name: string } }) => p.metadata.name === `caller-${node}`),
      `${node}: the answer is the cluster's own pod list, read with the pod's token`,
    );
  }
});

/** The pod's log once the call is done: the HTTP status, then the body. */
function answerOf(c: Cluster, pod: string): Promise<string> {
  return eventually(
    async () => {
      const out = await c.k('logs', pod);
      return /^\d{3}\n[\s\S]*\}\s*$/.test(out) ? out : undefined;
    },
    { timeout: 60_000, what: `${pod} to print the API's answer`, explain: () => c.k('logs', pod) },
  );
}
