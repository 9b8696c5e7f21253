import t from 'tap';
import { startCluster } from '../helpers/cluster.js';
import { oldKubectl } from '../helpers/old-kubectl.js';

const deployment = (replicas: string) => `apiVersion: apps/v1
kind: Deployment
metadata: {name: web, labels: {app: web}}
spec:
  ${replicas}
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: busybox, ports: [{containerPort: 80}]}]
`;

t.test("Debian's kubectl 1.20: get, create, apply with validation, explain, delete", async (t) => {
  const bin = oldKubectl();
  const c = await startCluster(t);
  const k = async (args: string[], input?: string) => {
    const r = await c.kubectl(args, { bin, input });
    return { ...r, out: r.stdout + r.stderr };
  };

  t.match((await k(['version', '--short'])).stdout, /Client Version: v1\.20\.\d+\nServer Version: v1\.32\.\d+/);
  t.match((await k(['get', 'namespaces'])).stdout, /^kube-system\s+Active\s+\d+s$/m);
  t.equal((await k(['create', 'configmap', 'old', '--from-literal=a=1'])).stdout, 'configmap/old created\n');
  t.match((await k(['get', 'configmap', 'old', '-o', 'wide'])).stdout, /^old\s+1\s+\d+s$/m);

  // apply validates against the protobuf /openapi/v2 and three-way merges with it.
  t.equal((await k(['apply', '-f', '-'], deployment('replicas: 2'))).stdout, 'deployment.apps/web created\n');
  t.equal((await k(['apply', '-f', '-'], deployment('replicas: 2'))).stdout, 'deployment.apps/web unchanged\n');
  t.equal((await k(['apply', '-f', '-'], deployment('replicas: 3'))).stdout, 'deployment.apps/web configured\n');
  t.equal((await k(['get', 'deployment', 'web', '-o', 'jsonpath={.spec.replicas}'])).stdout, '3');
  const invalid = await k(['apply', '-f', '-'], deployment('replicaz: 3'));
  t.equal(invalid.code, 1);
  t.match(invalid.stderr, /unknown field "replicaz" in io\.k8s\.api\.apps\.v1\.DeploymentSpec/);

  const explained = (await k(['explain', 'deployment.spec.strategy'])).stdout;
  t.match(explained, /RESOURCE: strategy <Object>/);
  t.match(explained, /FIELDS:\n\s+rollingUpdate\t<Object>[\s\S]+type\t<string>/);

  t.equal((await k(['delete', 'deployment', 'web'])).stdout, 'deployment.apps "web" deleted\n');
  t.match((await k(['get', 'deployment', 'web'])).stderr, /Error from server \(NotFound\): deployments.apps "web" not found/);
});
