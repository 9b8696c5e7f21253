// Edge autonomy through real kubectl and containerd: a server and an agent on hosts of a network lab.
// With the server stopped, the agent keeps its pods across its own restart, starts them again from
// its checkpoint after a simulated reboot (containers and tmpfs mounts gone) with the ConfigMap's and
// Secret's contents, restarts a killed container by its policy, and after a SIGKILL finds exactly
// one containerd on its root. Then the server comes back while the agent is cut off from it
// (nftables in the agent's host): the node turns NotReady, pods are deleted (gracefully and by
// force), a liveness probe fails and the agent restarts the container; when the route is back, the
// node is Ready, the deleted pods stop on the node, the kept pod's container is not restarted, and
// its restarts and the event of the time it was cut off are reported.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { CriClient } from '../../src/cri/client.js';
import { mountsUnder } from '../../src/agent/pods/volumes.js';
import { findProcesses } from '../../src/k8s/supervisor.js';
import { startAgent } from '../helpers/agents.js';
import { startCluster } from '../helpers/cluster.js';
import { eventually } from '../helpers/eventually.js';
import { createNetLab } from '../helpers/netlab.js';
import { BUSYBOX } from '../helpers/node-env.js';
import { podWhen } from '../helpers/pods.js';

const PASSWORD = `autonomy-${randomBytes(6).toString('hex')}`;

const manifest = (image: string) => `apiVersion: v1
kind: ConfigMap
metadata: {name: settings}
data: {greeting: hello-from-configmap}
---
apiVersion: v1
kind: Secret
metadata: {name: credentials}
stringData: {password: ${PASSWORD}}
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec: {ports: [{port: 80}], selector: {app: keeper}}
---
apiVersion: v1
kind: Pod
metadata: {name: keeper, labels: {app: keeper}}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: app
    image: ${image}
    command: [sleep, '3600']
    env:
    - {name: PASSWORD, valueFrom: {secretKeyRef: {name: credentials, key: password}}}
    - {name: GREETING, valueFrom: {configMapKeyRef: {name: settings, key: greeting}}}
    volumeMounts:
    - {name: config, mountPath: /etc/config}
    - {name: secret, mountPath: /etc/secret}
    # Sick once /tmp/sick exists; ready while the Secret's file is there.
    livenessProbe: {exec: {command: [sh, -c, '! test -e /tmp/sick']}, periodSeconds: 1, failureThreshold: 1}
    readinessProbe: {exec: {command: [cat, /etc/secret/password]}, periodSeconds: 1}
  volumes:
  - {name: config, configMap: {name: settings}}
  - {name: secret, secret: {secretName: credentials}}
${['doomed', 'forced']
  .map(
    (name) => `---
apiVersion: v1
kind: Pod
metadata: {name: ${name}}
spec:
  terminationGracePeriodSeconds: 1
  containers: [{name: app, image: ${image}, command: [sleep, '3600']}]
`,
  )
  .join('')}`;

t.test('an agent runs its pods without its server and converges when it comes back', async (t) => {
  const lab = createNetLab(t, 2);
  const [serverHost, agentHost] = lab.hosts as [(typeof lab.hosts)[0], (typeof lab.hosts)[0]];
  const c = await startCluster(t, ['--kube-controller-manager-arg', 'node-monitor-grace-period=10s'], { host: serverHost });
  const agent = await startAgent(t, c, agentHost, { name: 'edge' });
  const cri = new CriClient(agent.node.socket);
  t.teardown(() => cri.close());

  // Until the namespace's default ServiceAccount exists, pods are refused.
  await eventually(async () => (await c.kubectl(['apply', '-f', '-'], { input: manifest(BUSYBOX) })).code === 0, {
    what: 'the objects to be created',
  });
  for (const name of ['keeper', 'doomed', 'forced'])
    await podWhen(
      c,
      name,
      (p) => p.status?.phase === 'Running' && p.status.conditions?.some((x: any) => x.type === 'Ready' && x.status === 'True'),
    );
  const uid = async (name: string) => c.k('get', 'pod', name, '-o', 'jsonpath={.metadata.uid}');
  const uids = { keeper: await uid('keeper'), doomed: await uid('doomed'), forced: await uid('forced') };

  /** The running container of a pod (with the attempt containerd counts), or undefined. */
  const running = async (podUid: string) => {
    const list = (await cri.listContainers({ labelSelector: { 'io.kubernetes.pod.uid': podUid } })) as {
      id: string;
      state: string;
      metadata: { attempt?: number };
    }[];
    const x = list.find((c) => c.state === 'CONTAINER_RUNNING');
    return x ? { id: x.id, attempt: x.metadata.attempt ?? 0 } : undefined;
  };
  /** The keeper's next container, once `previous` has been replaced. */
  const replaced = (previous: { id: string }, what: string) =>
    eventually(
      async () => {
        const now = await running(uids.keeper);
        return now && now.id !== previous.id ? now : undefined;
      },
      { what, timeout: 90_000 },
    );
  const inKeeper = async (script: string) => {
    const x = await eventually(() => running(uids.keeper), { what: 'a running keeper container' });
    return Buffer.from((await cri.execSync(x.id, ['sh', '-c', script])).stdout ?? '')
      .toString()
      .trim();
  };
  const CONTENTS = 'echo "$(cat /etc/config/greeting) $(cat /etc/secret/password) $GREETING $PASSWORD $WEB_SERVICE_HOST"';
  const serviceIP = await c.k('get', 'service', 'web', '-o', 'jsonpath={.spec.clusterIP}');
  const expected = `hello-from-configmap ${PASSWORD} hello-from-configmap ${PASSWORD} ${serviceIP}`;
  t.equal(await inKeeper(CONTENTS), expected, 'the ConfigMap and Secret as files and variables, the Service as variables');

  // What the agent keeps on disk: the Secret sealed, the node key for root only.
  const agentDir = path.join(agent.dataDir, 'agent');
  t.equal(fs.statSync(path.join(agentDir, 'node-key')).mode & 0o777, 0o600, 'the node key is 0600');
  t.ok(fs.readdirSync(path.join(agentDir, 'checkpoint', 'secrets')).length > 0, 'the Secret is in the checkpoint');
  t.same(plainTextFiles(agent.dataDir, PASSWORD), [], 'no file of the agent holds the Secret in plain text');

  // The server goes away.
  await c.stop();

  // The agent restarts: its pods keep running (the same containers).
  const before = { keeper: await running(uids.keeper), doomed: await running(uids.doomed) };
  await agent.restart();
  t.same(await running(uids.doomed), before.doomed, 'after an agent restart without the server: the same container runs');

  // A reboot: the agent stops, its containers and tmpfs mounts are gone; it starts from its checkpoint.
  await agent.stop();
  await agent.node.drain();
  agent.node.cleanup();
  t.same(mountsUnder(agent.dataDir), [], 'no mount left');
  await agent.restart();
  await eventually(async () => (await running(uids.keeper)) && (await running(uids.doomed)) && running(uids.forced), {
    what: 'the pods to run again from the checkpoint',
    timeout: 120_000,
  });
  t.not((await running(uids.keeper))?.id, before.keeper?.id, 'in new containers');
  t.equal(await inKeeper(CONTENTS), expected, 'after the reboot: the same ConfigMap and Secret, files and variables');

  // A container killed: started again by the pod's policy.
  const first = (await running(uids.keeper))!;
  execFileSync('ctr', ['-a', agent.node.socket, '-n', 'k8s.io', 'task', 'kill', '-s', 'KILL', first.id]);
  const second = await replaced(first, 'the killed container to be restarted');
  t.equal(second.attempt, first.attempt + 1, 'restarted by the restart policy');

  // kill -9: the agent's containerd goes with it; the next start runs exactly one, and the pods on.
  const config = path.join(agent.dataDir, 'agent', 'containerd', 'config.toml');
  const containerds = () => findProcesses((argv) => path.basename(argv[0]!) === 'containerd' && argv.includes(config));
  t.equal(containerds().length, 1, 'one containerd');
  await agent.restart('SIGKILL');
  t.equal(containerds().length, 1, 'after kill -9 and a start: one containerd on the root');
  t.same(await running(uids.keeper), second, 'the same container runs');

  // The server comes back, but the agent cannot reach it (dropped both ways in the agent's host).
  const cutOff = `table inet skiff-test-cutoff {
  chain out { type filter hook output priority 0; ip daddr ${serverHost.ip} tcp dport ${c.port} drop; }
  chain in { type filter hook input priority 0; ip saddr ${serverHost.ip} tcp sport ${c.port} drop; }
}
`;
  t.equal((await agentHost.exec('nft', ['-f', '-'], { input: cutOff })).code, 0, 'the agent is cut off');
  await c.restart();
  const ready = () => c.k('get', 'node', 'edge', '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].status}');
  await eventually(async () => (await ready()) === 'Unknown', { what: 'the node to turn NotReady', timeout: 60_000 });
  t.match(await c.k('get', 'node', 'edge'), /edge\s+NotReady/, 'kubectl get node: NotReady while the agent is cut off');
  await c.k('delete', 'pod', 'doomed', '--wait=false');
  await c.k('delete', 'pod', 'forced', '--force', '--grace-period=0');
  t.ok(await running(uids.doomed), 'cut off, the agent still runs the deleted pods');
  // Its liveness probe fails while it is cut off: restarted by the probe, the event kept for later.
  await inKeeper('touch /tmp/sick');
  const third = await replaced(second, 'the container failing its liveness probe to be restarted');
  t.equal(third.attempt, second.attempt + 1, 'restarted after its liveness probe failed');

  t.equal((await agentHost.exec('nft', ['delete', 'table', 'inet', 'skiff-test-cutoff'])).code, 0, 'the route is back');
  await eventually(async () => (await ready()) === 'True', { what: 'the node to be Ready again', timeout: 90_000 });
  t.pass('the node is Ready');
  for (const name of ['doomed', 'forced'] as const) {
    await eventually(async () => (await cri.listPodSandbox({ labelSelector: { 'io.kubernetes.pod.uid': uids[name] } })).length === 0, {
      what: `the sandbox of ${name} to be removed`,
      timeout: 60_000,
    });
    t.pass(`${name}, deleted meanwhile, is stopped and removed on the node`);
  }
  await eventually(async () => (await c.kubectl(['get', 'pod', 'doomed'])).code !== 0, { what: 'doomed to leave the API' });
  const keeper = await podWhen(c, 'keeper', (p) => {
    const s = p.status?.containerStatuses?.[0];
    return s?.restartCount === third.attempt && s.ready && s.containerID === `containerd://${third.id}`;
  });
  t.equal(keeper.status.phase, 'Running', 'the kept pod is reported Running, Ready, with its restarts');
  t.same(await running(uids.keeper), third, 'its container was not restarted when the agent caught up');
  const unhealthy = await eventually(
    async () =>
      JSON.parse(await c.k('get', 'events', '--field-selector', 'involvedObject.name=keeper,reason=Unhealthy', '-o', 'json')).items,
    { what: 'the Unhealthy event of the time the agent was cut off' },
  );
  t.match(unhealthy[0].message, /Liveness probe failed/, 'the event recorded while cut off is reported');
  t.same(plainTextFiles(agent.dataDir, PASSWORD), [], 'still no Secret in plain text on disk');
});

/**
 * Files under `dir` that contain `secret`, except on tmpfs (the Secret volume, as upstream) and in
 * containerd's own root and state (a container's environment is in its spec there, as upstream).
 */
function plainTextFiles(dir: string, secret: string): string[] {
  const skip = [...mountsUnder(dir), path.join(dir, 'agent', 'containerd'), path.join(dir, 'run')];
  const found: string[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (skip.some((s) => p === s || p.startsWith(`${s}/`))) continue;
      if (e.isDirectory()) walk(p);
      else if (e.isFile() && fs.readFileSync(p).includes(secret)) found.push(p);
    }
  };
  walk(dir);
  return found;
}
