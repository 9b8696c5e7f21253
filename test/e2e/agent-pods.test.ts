// A `skiff agent` that joined a server runs a Deployment on containerd, and kubectl reaches its
// pods through the API server: logs, exec, attach, port-forward and cp.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import https from 'node:https';
import path from 'node:path';
import { Writable } from 'node:stream';
import * as k8s from '@kubernetes/client-node';
import t from 'tap';
import { CriClient } from '../../src/cri/client.js';
import { freePort, startCluster } from '../helpers/cluster.js';
import { eventually } from '../helpers/eventually.js';
import { podWhen } from '../helpers/pods.js';
import { BUSYBOX, prepareNode } from '../helpers/node-env.js';
import { spawnTs, waitForLine } from '../helpers/run.js';
import { tempDir } from '../helpers/tmp.js';

t.test('a joined agent runs a Deployment that kubectl can reach', async (t) => {
  const dataDir = tempDir(t, 'skiff-agent-');
  const node = prepareNode(dataDir, await freePort());
  // Last registered, first run: stop the agent, drain its containerd, then the bridge and mounts.
  t.teardown(() => node.cleanup());
  t.teardown(() => node.drain());
  const c = await startCluster(t, node.serverArgs);
  const token = fs.readFileSync(path.join(c.dataDir, 'server', 'token'), 'utf8').trim();
  const startAgent = async () => {
    const child = spawnTs('src/cli/main.ts', [
      'agent',
      '--server',
      `https://127.0.0.1:${c.port}`,
      '--token',
      token,
      '--node-name',
      'worker',
      '--data-dir',
      dataDir,
      '--config',
      '/dev/null',
      ...node.args,
    ]);
    await waitForLine(child, /skiff agent ready/);
    return child;
  };
  const stopAgent = async () => {
    if (agent.exitCode !== null) return;
    const exited = new Promise((r) => agent.once('exit', r));
    agent.kill('SIGTERM');
    await exited;
  };
  let agent = await startAgent();
  t.teardown(stopAgent);
  const cri = new CriClient(node.socket);
  t.teardown(() => cri.close());

  const r = await c.kubectl(['apply', '-f', '-'], {
    input: `apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      terminationGracePeriodSeconds: 2
      containers:
      - name: httpd
        image: ${BUSYBOX}
        command: [sh, -c, 'mkdir -p /www; echo "hello from $HOSTNAME" > /www/index.html; echo serving; exec httpd -f -vv -p 8080 -h /www']
        ports: [{containerPort: 8080, name: http}]
        readinessProbe: {httpGet: {path: /, port: http}, periodSeconds: 1}
`,
  });
  t.equal(r.code, 0, r.stderr);
  t.match(await c.k('rollout', 'status', 'deployment/web', '--timeout=120s'), /successfully rolled out/);
  const pods = JSON.parse(await c.k('get', 'pods', '-l', 'app=web', '-o', 'json')).items;
  t.equal(pods.length, 2);
  for (const pod of pods) {
    t.match(pod.status, { phase: 'Running', podIP: /^10\.\d+\.0\.\d+$/, hostIP: /\S/ });
    t.equal(pod.spec.nodeName, 'worker');
    // The host reaches each pod at its address on the node's bridge.
    t.equal(await (await fetch(`http://${pod.status.podIP}:8080/`)).text(), `hello from ${pod.metadata.name}\n`);
  }
  const name = pods[0].metadata.name;

  t.match(await c.k('logs', name), /^serving\n/, 'logs through the API server');
  t.equal(await c.k('exec', name, '--', 'cat', '/www/index.html'), `hello from ${name}\n`);
  const failed = await c.kubectl(['exec', name, '--', 'sh', '-c', 'echo oops >&2; exit 4']);
  t.equal(failed.code, 4, 'exec passes the exit code on');
  t.match(failed.stderr, /oops\n[\s\S]*command terminated with exit code 4/);
  t.equal(
    (await c.kubectl(['exec', '-i', name, '--', 'cat'], { input: 'piped in\n' })).stdout,
    'piped in\n',
    'stdin reaches the container',
  );
  // A client library's exec (WebSocket, no SPDY fallback) works too.
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(c.kubeconfig);
  let out = '';
  const status = await new Promise<any>((resolve, reject) => {
    const stdout = new Writable({
      write: (chunk, _enc, done) => {
        out += chunk;
        done();
      },
    });
    new k8s.Exec(kc)
      .exec('default', name, 'httpd', ['sh', '-c', 'echo from client-node; exit 2'], stdout, null, null, false, resolve)
      .catch(reject);
  });
  t.equal(out, 'from client-node\n');
  t.match(status, { status: 'Failure', reason: 'NonZeroExitCode', details: { causes: [{ reason: 'ExitCode', message: '2' }] } });

  // logs -f ends when the container does; it follows what the container writes meanwhile.
  await c.k('run', 'ticker', `--image=${BUSYBOX}`, '--restart=Never', '--', 'sh', '-c', 'for i in 1 2 3; do echo tick $i; sleep 1; done');
  await podWhen(c, 'ticker', (p) => p.status?.phase !== 'Pending');
  t.equal(await c.k('logs', '-f', 'ticker'), 'tick 1\ntick 2\ntick 3\n');

  // port-forward: a local port reaches the pod's port 8080.
  const local = await freePort();
  const pf = spawn('kubectl', ['--kubeconfig', c.kubeconfig, 'port-forward', `pod/${name}`, `${local}:8080`]);
  t.teardown(() => pf.kill());
  await waitForLine(pf, /Forwarding from 127\.0\.0\.1/);
  t.equal(await (await fetch(`http://127.0.0.1:${local}/`)).text(), `hello from ${name}\n`);
  t.equal(await (await fetch(`http://127.0.0.1:${local}/`)).text(), `hello from ${name}\n`, 'a second connection too');

  // cp both ways (tar through exec).
  const file = path.join(dataDir, 'note.txt');
  fs.writeFileSync(file, 'copied\n');
  await c.k('cp', file, `default/${name}:/tmp/note.txt`);
  await c.k('cp', `default/${name}:/tmp/note.txt`, path.join(dataDir, 'back.txt'));
  t.equal(fs.readFileSync(path.join(dataDir, 'back.txt'), 'utf8'), 'copied\n');

  // attach sees what the container writes from then on (httpd -vv logs each request).
  const attach = spawn('kubectl', ['--kubeconfig', c.kubeconfig, 'attach', name]);
  t.teardown(() => attach.kill());
  let attached = '';
  attach.stdout.on('data', (d: Buffer) => (attached += d));
  attach.stderr.on('data', (d: Buffer) => (attached += d));
  const seen = await eventually(
    async () => {
      await fetch(`http://${pods[0].status.podIP}:8080/attached`).catch(() => undefined);
      return attached.includes('/attached') ? 'seen' : undefined;
    },
    { timeout: 30_000 },
  );
  t.equal(seen, 'seen', 'attach streams the container output');

  // The agent's port takes calls from the API server only: plain HTTP gets no HTTP answer, and
  // HTTPS (its certificate taken on trust) without the API server's client certificate gets a 403.
  const agentPort = Number(node.args[node.args.indexOf('--kubelet-arg') + 1]!.split('=')[1]);
  const refused = await new Promise<string>((resolve) => {
    let answer = '';
    const socket = net.connect(agentPort, '127.0.0.1', () => socket.write('GET /containerLogs/default/x/y HTTP/1.1\r\nHost: node\r\n\r\n'));
    socket.setTimeout(10_000, () => socket.destroy());
    socket.on('data', (d: Buffer) => (answer += d.toString('latin1')));
    socket.on('error', () => resolve(answer));
    socket.on('close', () => resolve(answer));
  });
  t.notMatch(refused, /^HTTP\//, 'a plain connection is not served');
  const direct = await new Promise<number | string>((resolve) => {
    https
      .get({ host: '127.0.0.1', port: agentPort, path: `/containerLogs/default/${name}/httpd`, rejectUnauthorized: false }, (res) => {
        res.resume();
        resolve(res.statusCode!);
      })
      .on('error', (e) => resolve(e.message));
  });
  t.equal(direct, 403, 'without the API server certificate the agent refuses');

  // Deleting the Deployment leaves nothing behind in containerd.
  const uids = pods.map((p: any) => p.metadata.uid);
  await c.k('delete', 'deployment', 'web');
  const left = await eventually(
    async () => {
      const found = [...(await cri.listContainers()), ...(await cri.listPodSandbox())].filter((x) =>
        uids.includes(x.labels?.['io.kubernetes.pod.uid']),
      );
      return found.length === 0 ? 'none' : undefined;
    },
    { timeout: 60_000 },
  );
  t.equal(left, 'none', 'no container or sandbox of the Deployment is left');

  // A pod deleted while the agent was down is cleaned up when it comes back.
  await c.k('run', 'orphan', `--image=${BUSYBOX}`, '--', 'sleep', '3600');
  await podWhen(c, 'orphan', (p) => p.status?.phase === 'Running');
  const orphanUid = await c.k('get', 'pod', 'orphan', '-o', 'jsonpath={.metadata.uid}');
  await stopAgent();
  await c.k('delete', 'pod', 'orphan', '--force', '--grace-period=0');
  agent = await startAgent();
  const gone = await eventually(
    async () => ((await cri.listPodSandbox({ labelSelector: { 'io.kubernetes.pod.uid': orphanUid } })).length === 0 ? 'gone' : undefined),
    { timeout: 30_000 },
  );
  t.equal(gone, 'gone', 'the restarted agent removed the sandbox of a pod the API no longer has');
  t.same(await cri.listContainers({ labelSelector: { 'io.kubernetes.pod.uid': orphanUid } }), []);
});
