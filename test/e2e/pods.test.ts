// Pods on a real node: `skiff server` with its own agent, containerd, runc and the CNI bridge.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import { promisify } from 'node:util';
import t from 'tap';
import { startCluster, type Cluster } from '../helpers/cluster.js';
import { eventually } from '../helpers/eventually.js';
import { podWhen } from '../helpers/pods.js';
import { BUSYBOX } from '../helpers/node-env.js';
import { CriClient } from '../../src/cri/client.js';

const json = async (c: Cluster, ...args: string[]) => JSON.parse(await c.k('get', ...args, '-o', 'json'));

/** The config pod's main container: when it started, and the environment it was given. */
const MAIN_SCRIPT =
  'date +%s > /work/main-started; echo "GREETING=$GREETING PASSWORD=$PASSWORD NAME=$MY_NAME NS=$MY_NS MEM=$MEM_MI"; exec sleep 3600';

const apply = (c: Cluster, yaml: string) => c.kubectl(['apply', '-f', '-'], { input: yaml });

t.test('a node runs real pods: registration, env and volumes, init containers, probes, restarts, adoption', async (t) => {
  // Small log files, so that rotation can be seen.
  const c = await startCluster(
    t,
    [
      '--kubelet-arg',
      'container-log-max-size=4Ki',
      '--kubelet-arg',
      'container-log-max-files=2',
      '--node-label',
      'zone=lab',
      '--node-taint',
      'dedicated=tests:PreferNoSchedule',
    ],
    { agent: true },
  );
  const cri = new CriClient(c.node!.socket);
  t.teardown(() => cri.close());

  await t.test('the node registers with its facts and stays quiet when idle', async (t) => {
    const node = await eventually(async () => {
      const n = (await json(c, 'nodes')).items[0];
      return n?.spec?.podCIDR && n.status.conditions.find((x: any) => x.type === 'Ready')?.status === 'True' ? n : undefined;
    });
    t.ok(node, 'the node is Ready once its pod network is configured');
    t.match(node.status.nodeInfo, {
      containerRuntimeVersion: /^containerd:\/\/\d+\.\d+/,
      kubeletVersion: /^v1\.32\./,
      operatingSystem: 'linux',
      kernelVersion: /\S/,
      osImage: /\S/,
    });
    t.match(node.status.capacity, { cpu: /^\d+$/, memory: /^\d+Ki$/, pods: '110', 'ephemeral-storage': /^\d+Ki$/ });
    t.same(node.status.conditions.map((x: any) => `${x.type}=${x.status}`).sort(), [
      'DiskPressure=False',
      'MemoryPressure=False',
      'PIDPressure=False',
      'Ready=True',
    ]);
    t.match(node.spec.podCIDR, /^10\.\d+\.0\.0\/24$/);
    t.match(node.metadata.labels, {
      zone: 'lab',
      'node-role.kubernetes.io/control-plane': 'true',
      'kubernetes.io/os': 'linux',
      'node.kubernetes.io/instance-type': 'skiff',
    });
    t.same(node.spec.taints, [{ key: 'dedicated', value: 'tests', effect: 'PreferNoSchedule' }]);
    t.match(await c.k('get', 'nodes'), /\s+Ready\s+control-plane,master\s+/, 'the server node shows its roles');
    // Idle: the Lease moves, the Node does not. Each beat renews the Lease, then writes the status if
    // it changed: once the Lease was renewed twice, the first beat's status write would be there.
    const lease = await json(c, 'lease', '-n', 'kube-node-lease', node.metadata.name);
    const renewals = new Set<string>();
    const renewed = await eventually(
      async () => {
        const now = await json(c, 'lease', '-n', 'kube-node-lease', node.metadata.name);
        if (now.metadata.resourceVersion !== lease.metadata.resourceVersion) renewals.add(now.metadata.resourceVersion);
        return renewals.size >= 2 ? now : undefined;
      },
      { timeout: 45_000, what: 'two renewals of the node lease' },
    );
    t.not(renewed.metadata.resourceVersion, lease.metadata.resourceVersion, 'the lease was renewed');
    t.equal(
      (await json(c, 'node', node.metadata.name)).metadata.resourceVersion,
      node.metadata.resourceVersion,
      'the node status was not rewritten',
    );
  });

  await t.test('configMap and secret values reach the container as files and environment', async (t) => {
    const r = await apply(
      c,
      `apiVersion: v1
kind: ConfigMap
metadata: {name: settings}
data: {greeting: hello, app.conf: "mode=fast"}
---
apiVersion: v1
kind: Secret
metadata: {name: creds}
stringData: {password: s3cret}
---
apiVersion: v1
kind: Pod
metadata: {name: config, labels: {tier: demo}}
spec:
  initContainers:
  - name: prepare
    image: ${BUSYBOX}
    command: [sh, -c, 'sleep 2; date +%s > /work/init-done']
    volumeMounts: [{name: work, mountPath: /work}]
  containers:
  - name: main
    image: ${BUSYBOX}
    command: [sh, -c, '${MAIN_SCRIPT}']
    env:
    - {name: GREETING, valueFrom: {configMapKeyRef: {name: settings, key: greeting}}}
    - {name: PASSWORD, valueFrom: {secretKeyRef: {name: creds, key: password}}}
    - {name: MY_NAME, valueFrom: {fieldRef: {fieldPath: metadata.name}}}
    - {name: MY_NS, valueFrom: {fieldRef: {fieldPath: metadata.namespace}}}
    - {name: MEM_MI, valueFrom: {resourceFieldRef: {resource: limits.memory, divisor: 1Mi}}}
    resources: {limits: {memory: 64Mi}}
    volumeMounts:
    - {name: work, mountPath: /work}
    - {name: settings, mountPath: /etc/settings}
    - {name: creds, mountPath: /etc/creds}
    - {name: info, mountPath: /etc/info}
  volumes:
  - {name: work, emptyDir: {}}
  - {name: settings, configMap: {name: settings}}
  - {name: creds, secret: {secretName: creds}}
  - {name: info, downwardAPI: {items: [{path: labels, fieldRef: {fieldPath: metadata.labels}}]}}
`,
    );
    t.equal(r.code, 0, r.stderr);
    const pod = await podWhen(c, 'config', (p) => p.status?.phase === 'Running' && p.status.containerStatuses?.[0]?.ready);
    t.equal(pod.status.phase, 'Running');
    t.match(await c.k('logs', 'config', '-c', 'main'), 'GREETING=hello PASSWORD=s3cret NAME=config NS=default MEM=64');
    t.equal(await c.k('exec', 'config', '-c', 'main', '--', 'cat', '/etc/settings/app.conf'), 'mode=fast');
    t.equal(await c.k('exec', 'config', '-c', 'main', '--', 'cat', '/etc/creds/password'), 's3cret');
    t.equal(await c.k('exec', 'config', '-c', 'main', '--', 'cat', '/etc/info/labels'), 'tier="demo"');
    // In-cluster clients find the namespace, the cluster CA and a token the API server accepts.
    const sa = '/var/run/secrets/kubernetes.io/serviceaccount';
    t.equal(await c.k('exec', 'config', '-c', 'main', '--', 'cat', `${sa}/namespace`), 'default');
    t.match(await c.k('exec', 'config', '-c', 'main', '--', 'cat', `${sa}/ca.crt`), /^-----BEGIN CERTIFICATE-----/);
    const token = await c.k('exec', 'config', '-c', 'main', '--', 'cat', `${sa}/token`);
    const asPod = await promisify(execFile)('kubectl', [
      '--kubeconfig',
      '/dev/null',
      '--server',
      `https://127.0.0.1:${c.port}`,
      '--insecure-skip-tls-verify',
      '--token',
      token,
      'auth',
      'whoami',
      '-o',
      'jsonpath={.status.userInfo.username}',
    ]);
    // Authenticated as its service account, which RBAC gives nothing more by default.
    t.equal(asPod.stdout, 'system:serviceaccount:default:default', 'the pod token authenticates');
    // The init container finished before the main one started.
    const [initDone, mainStarted] = (await c.k('exec', 'config', '-c', 'main', '--', 'cat', '/work/init-done', '/work/main-started'))
      .trim()
      .split('\n')
      .map(Number);
    t.ok(initDone! <= mainStarted!, `init finished (${initDone}) before main started (${mainStarted})`);
    t.match(pod.status.initContainerStatuses[0], { name: 'prepare', state: { terminated: { exitCode: 0, reason: 'Completed' } } });
    t.match(
      pod.status.conditions.find((x: any) => x.type === 'Initialized'),
      { status: 'True' },
    );
    // A changed ConfigMap reaches the mounted file.
    await c.k('patch', 'configmap', 'settings', '-p', '{"data":{"app.conf":"mode=slow"}}');
    t.equal(
      await eventually(
        async () =>
          (await c.k('exec', 'config', '-c', 'main', '--', 'cat', '/etc/settings/app.conf')) === 'mode=slow' ? 'updated' : undefined,
        { timeout: 90_000 },
      ),
      'updated',
    );
    // A missing key keeps a container from being created, and says why.
    await apply(
      c,
      'apiVersion: v1\nkind: Pod\nmetadata: {name: missing-key}\nspec:\n  containers:\n' +
        `  - {name: c, image: ${BUSYBOX}, command: [sleep, '3600'], ` +
        'env: [{name: X, valueFrom: {configMapKeyRef: {name: settings, key: nope}}}]}\n',
    );
    const stuck = await podWhen(
      c,
      'missing-key',
      (p) => p.status?.containerStatuses?.[0]?.state?.waiting?.reason === 'CreateContainerConfigError',
    );
    t.match(stuck.status.containerStatuses[0].state.waiting, {
      reason: 'CreateContainerConfigError',
      message: "couldn't find key nope in ConfigMap default/settings",
    });
    // An image the node lacks and cannot pull (no registry is reachable): ErrImagePull, then back-off.
    await c.k('run', 'no-image', '--image=skiff.invalid/absent:1');
    const pulling = await podWhen(c, 'no-image', (p) => p.status?.containerStatuses?.[0]?.state?.waiting?.reason === 'ImagePullBackOff');
    t.match(pulling.status.containerStatuses[0].state.waiting, {
      reason: 'ImagePullBackOff',
      message: 'Back-off pulling image "skiff.invalid/absent:1"',
    });
    t.match(
      await c.k('get', 'events', '--field-selector', 'involvedObject.name=no-image'),
      /Failed to pull image "skiff\.invalid\/absent:1"/,
    );
  });

  await t.test('security context, resources, host ports and more kinds of volume', async (t) => {
    const dir = c.dataDir.replace(/\/data$/, '');
    const r = await apply(
      c,
      `apiVersion: v1
kind: PersistentVolume
metadata: {name: local-pv}
spec: {capacity: {storage: 1Gi}, accessModes: [ReadWriteOnce], hostPath: {path: ${dir}/pv, type: DirectoryOrCreate}}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: claim}
spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}, volumeName: local-pv, storageClassName: ""}
---
apiVersion: v1
kind: Pod
metadata: {name: locked}
spec:
  securityContext: {runAsUser: 1000, runAsGroup: 3000}
  containers:
  - name: c
    image: ${BUSYBOX}
    command: [sh, -c, 'echo on the host port > /scratch/index.html; exec httpd -f -p 8080 -h /scratch']
    securityContext: {readOnlyRootFilesystem: true}
    ports: [{containerPort: 8080, hostPort: ${c.port + 1}}]
    resources: {limits: {memory: 64Mi, cpu: 250m}}
    volumeMounts: [{name: scratch, mountPath: /scratch}, {name: host, mountPath: /host}, {name: data, mountPath: /data}]
  volumes:
  - {name: scratch, emptyDir: {medium: Memory}}
  - {name: host, hostPath: {path: ${dir}/host, type: DirectoryOrCreate}}
  - {name: data, persistentVolumeClaim: {claimName: claim}}
`,
    );
    t.equal(r.code, 0, r.stderr);
    const pod = await podWhen(c, 'locked', (p) => p.status?.phase === 'Running');
    t.equal(pod.status.phase, 'Running');
    const inside = (script: string) => c.kubectl(['exec', 'locked', '--', 'sh', '-c', script]);
    t.equal((await inside('id')).stdout.trim(), 'uid=1000 gid=3000 groups=3000');
    t.match((await inside('touch /x')).stderr, /Read-only file system/);
    t.match((await inside('mount')).stdout, /^tmpfs on \/scratch type tmpfs/m, 'emptyDir with medium Memory is a tmpfs');
    fs.writeFileSync(`${dir}/host/from-host`, 'shared');
    fs.writeFileSync(`${dir}/pv/from-pv`, 'persistent');
    t.equal(
      (await inside('cat /host/from-host /data/from-pv')).stdout,
      'sharedpersistent',
      'hostPath and a claim bound to a hostPath volume',
    );
    // Limits reach the container's cgroup (v2 or v1).
    const memory = (
      await inside('cat /sys/fs/cgroup/memory.max 2>/dev/null || cat /sys/fs/cgroup/memory/memory.limit_in_bytes')
    ).stdout.trim();
    t.equal(memory, String(64 * 1024 * 1024));
    const cpu = (await inside('cat /sys/fs/cgroup/cpu.max 2>/dev/null || cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us')).stdout.trim();
    t.match(cpu, /^25000( 100000)?$/, '250m is a quarter of each 100 ms period');
    // The host port reaches the container on the node's address.
    const hostIP = pod.status.hostIP;
    const viaHostPort = await eventually(async () => (await fetch(`http://${hostIP}:${c.port + 1}/`)).text(), { timeout: 20_000 });
    t.equal(viaHostPort, 'on the host port\n');
  });

  await t.test('a failing liveness probe restarts the container; a crashing one backs off', async (t) => {
    await apply(
      c,
      `apiVersion: v1
kind: Pod
metadata: {name: unhealthy}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: c
    image: ${BUSYBOX}
    command: [sh, -c, 'touch /tmp/healthy; sleep 3; rm /tmp/healthy; exec sleep 3600']
    livenessProbe: {exec: {command: [test, -f, /tmp/healthy]}, periodSeconds: 1, failureThreshold: 2}
---
apiVersion: v1
kind: Pod
metadata: {name: crasher}
spec:
  containers:
  - {name: c, image: ${BUSYBOX}, command: [sh, -c, 'echo about to fail; exit 3']}
`,
    );
    const restarted = await podWhen(c, 'unhealthy', (p) => p.status?.containerStatuses?.[0]?.restartCount >= 1);
    t.ok(restarted.status.containerStatuses[0].restartCount >= 1, 'restartCount rose');
    t.match(restarted.status.containerStatuses[0].lastState, { terminated: { containerID: /^containerd:\/\// } });
    t.match(await c.k('get', 'events', '--field-selector', 'involvedObject.name=unhealthy'), /Liveness probe failed/);

    const crashing = await podWhen(c, 'crasher', (p) => p.status?.containerStatuses?.[0]?.state?.waiting?.reason === 'CrashLoopBackOff');
    const s = crashing.status.containerStatuses[0];
    t.match(s.state.waiting, { reason: 'CrashLoopBackOff', message: /^back-off \d+s restarting failed container=c pod=crasher_default/ });
    t.match(s.lastState.terminated, { exitCode: 3, reason: 'Error' });
    t.ok(s.restartCount >= 1);
    t.equal(crashing.status.phase, 'Running', 'a pod restarting its containers is Running, as upstream');
    t.match(await c.k('get', 'pod', 'crasher'), /crasher\s+0\/1\s+CrashLoopBackOff/);
    t.equal(await c.k('logs', 'crasher', '--previous'), 'about to fail\n');
  });

  await t.test('deletion runs preStop and honours the grace period; tcp and grpc probes', async (t) => {
    const dir = c.dataDir.replace(/\/data$/, '');
    await apply(
      c,
      `apiVersion: v1
kind: Pod
metadata: {name: graceful}
spec:
  terminationGracePeriodSeconds: 3
  containers:
  - name: c
    image: ${BUSYBOX}
    command: [sh, -c, 'trap "" TERM; httpd -p 9000; exec sleep 3600']
    readinessProbe: {tcpSocket: {port: 9000}, periodSeconds: 1}
    lifecycle: {preStop: {exec: {command: [sh, -c, 'echo stopping > /out/prestop']}}}
    volumeMounts: [{name: out, mountPath: /out}]
  - name: g
    image: ${BUSYBOX}
    command: [sleep, '3600']
    readinessProbe: {grpc: {port: 9001}, periodSeconds: 1, failureThreshold: 1}
  volumes:
  - {name: out, hostPath: {path: ${dir}/out, type: DirectoryOrCreate}}
`,
    );
    const ready = await podWhen(c, 'graceful', (p) => p.status?.containerStatuses?.find((s: any) => s.name === 'c')?.ready);
    t.ok(ready.status.containerStatuses.find((s: any) => s.name === 'c').ready, 'a tcpSocket probe makes it ready');
    t.notOk(ready.status.containerStatuses.find((s: any) => s.name === 'g').ready, 'a grpc probe with nothing listening does not');
    t.match(
      await c.k('get', 'events', '--field-selector', 'involvedObject.name=graceful'),
      /Readiness probe failed: failed to connect service/,
    );
    t.match(
      await c.k('describe', 'pod', 'graceful'),
      /Readiness:\s+grpc <pod>:9001 \S* ?delay=0s timeout=1s period=1s #success=1 #failure=1/,
      'kubectl describe shows the grpc probe',
    );
    const t0 = Date.now();
    await c.k('delete', 'pod', 'graceful');
    const took = (Date.now() - t0) / 1000;
    t.equal(fs.readFileSync(`${dir}/out/prestop`, 'utf8'), 'stopping\n', 'the preStop hook ran');
    t.ok(took >= 2.5, `a container that ignores SIGTERM is killed after the grace period (${took.toFixed(1)} s)`);
  });

  await t.test('host network pods and postStart hooks', async (t) => {
    await apply(
      c,
      `apiVersion: v1
kind: Pod
metadata: {name: on-host}
spec:
  hostNetwork: true
  containers:
  - name: c
    image: ${BUSYBOX}
    command: [sleep, '3600']
    lifecycle: {postStart: {exec: {command: [sh, -c, 'echo hooked > /tmp/post-start']}}}
---
apiVersion: v1
kind: Pod
metadata: {name: bad-hook}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: c
    image: ${BUSYBOX}
    command: [sleep, '3600']
    lifecycle: {postStart: {exec: {command: [sh, -c, 'exit 7']}}}
`,
    );
    const onHost = await podWhen(c, 'on-host', (p) => p.status?.phase === 'Running');
    t.equal(onHost.status.podIP, onHost.status.hostIP, 'a host network pod has the node address');
    t.equal(await c.k('exec', 'on-host', '--', 'cat', '/tmp/post-start'), 'hooked\n', 'postStart ran in the container');
    const hostLinks = (await c.k('exec', 'on-host', '--', 'ip', 'link')).match(/^\d+: /gm)?.length ?? 0;
    t.ok(hostLinks > 1, `it sees the host's interfaces (${hostLinks})`);
    const bad = await podWhen(c, 'bad-hook', (p) => p.status?.containerStatuses?.[0]?.restartCount >= 1);
    t.ok(bad.status.containerStatuses[0].restartCount >= 1, 'a failing postStart hook kills the container, which restarts');
    t.match(await c.k('get', 'events', '--field-selector', 'involvedObject.name=bad-hook'), /FailedPostStartHook/);
  });

  await t.test('container logs are rotated and only the newest files kept', async (t) => {
    await c.k(
      'run',
      'chatty',
      `--image=${BUSYBOX}`,
      '--',
      'sh',
      '-c',
      'i=0; while true; do i=$((i+1)); echo "line $i of a chatty container that fills its log"; sleep 0.01; done',
    );
    const pod = await podWhen(c, 'chatty', (p) => p.status?.phase === 'Running');
    const dir = `${c.dataDir}/agent/logs/default_chatty_${pod.metadata.uid}/chatty`;
    const ROTATED = /^0\.log\.\d{8}-\d{6}$/;
    const rotated = await eventually(async () => (fs.readdirSync(dir).some((f) => ROTATED.test(f)) ? fs.readdirSync(dir) : undefined), {
      timeout: 30_000,
    });
    t.ok(rotated, `the log was rotated (${rotated?.join(', ')})`);
    // Once it was rotated again, the older rotated file must go (once the rotation has finished).
    const files = await eventually(
      () => {
        const now = fs.readdirSync(dir);
        return now.some((f) => ROTATED.test(f) && !rotated.includes(f)) && now.length <= 2 && now.includes('0.log') ? now : undefined;
      },
      { timeout: 60_000, what: 'a second rotation that keeps only the newest files', explain: () => fs.readdirSync(dir).join(', ') },
    );
    t.ok(files.length <= 2, `at most two files are kept (${files.join(', ')})`);
    t.ok(files.includes('0.log'), 'the container writes on to its log');
    t.match(
      await c.k('logs', 'chatty', '--tail', '1'),
      /^line \d+ of a chatty container that fills its log\n$/,
      'and kubectl logs reads it',
    );
    await c.k('delete', 'pod', 'chatty', '--grace-period=1');
  });

  await t.test('a sidecar starts before the containers, serves them, and stops when they are done', async (t) => {
    const r = await apply(
      c,
      `apiVersion: v1
kind: Pod
metadata: {name: with-sidecar}
spec:
  restartPolicy: Never
  terminationGracePeriodSeconds: 1
  initContainers:
  - name: feeder
    image: ${BUSYBOX}
    restartPolicy: Always
    command: [sh, -c, 'while true; do echo fed > /shared/food; sleep 1; done']
    volumeMounts: [{name: shared, mountPath: /shared}]
  containers:
  - name: main
    image: ${BUSYBOX}
    command: [sh, -c, 'sleep 2; cat /shared/food']
    volumeMounts: [{name: shared, mountPath: /shared}]
  volumes: [{name: shared, emptyDir: {}}]
`,
    );
    t.equal(r.code, 0, r.stderr);
    const done = await podWhen(
      c,
      'with-sidecar',
      (p) => p.status?.phase === 'Succeeded' && !p.status.initContainerStatuses?.[0]?.state?.running,
    );
    t.equal(done.status.phase, 'Succeeded', 'the pod completes although its sidecar never exits by itself');
    t.equal(await c.k('logs', 'with-sidecar', '-c', 'main'), 'fed\n', 'the sidecar was running when the container needed it');
    t.ok(done.status.initContainerStatuses[0].state.terminated, 'and it was stopped after the container finished');
  });

  await t.test('a pod that runs to completion succeeds, and its containers are removed with it', async (t) => {
    await c.k('run', 'once', `--image=${BUSYBOX}`, '--restart=Never', '--', 'sh', '-c', 'echo one; echo two; echo three');
    const done = await podWhen(c, 'once', (p) => p.status?.phase === 'Succeeded');
    t.equal(done.status.phase, 'Succeeded');
    t.match(done.status.containerStatuses[0].state.terminated, { exitCode: 0, reason: 'Completed' });
    t.equal(await c.k('logs', 'once'), 'one\ntwo\nthree\n');
    t.equal(await c.k('logs', 'once', '--tail', '1'), 'three\n');
    t.match(await c.k('logs', 'once', '--timestamps'), /^\d{4}-\d\d-\d\dT\S+ one$/m);
    const uid = done.metadata.uid;
    t.equal(
      (await cri.listContainers({ labelSelector: { 'io.kubernetes.pod.uid': uid } })).length,
      1,
      'the finished container stays for its logs',
    );
    t.equal(
      (await cri.listPodSandbox({ labelSelector: { 'io.kubernetes.pod.uid': uid } }))[0]?.state,
      'SANDBOX_NOTREADY',
      'but its sandbox is stopped',
    );
    // A finished pod goes from the API at once; the agent then removes what it left behind.
    await c.k('delete', 'pod', 'once');
    const leftovers = async () => [
      ...(await cri.listContainers({ labelSelector: { 'io.kubernetes.pod.uid': uid } })),
      ...(await cri.listPodSandbox({ labelSelector: { 'io.kubernetes.pod.uid': uid } })),
    ];
    t.same(
      await eventually(async () => ((await leftovers()).length === 0 ? [] : undefined), { timeout: 20_000 }),
      [],
      'no container or sandbox is left',
    );
  });

  await t.test('an agent restart adopts running containers instead of restarting them', async (t) => {
    const before = await podWhen(c, 'config', (p) => p.status?.containerStatuses?.[0]?.ready);
    await c.restart('SIGTERM');
    // The restarted agent has synced the pod to its end (status and all), had it meant to restart the
    // container: it wrote two labels, one after the other, into the pod's downward API volume, and a
    // pod's syncs never overlap, so the one that wrote the first had ended before the second was seen.
    for (const n of [1, 2]) {
      await c.k('label', 'pod', 'config', `synced=${n}`, '--overwrite');
      await eventually(async () => (await c.k('exec', 'config', '-c', 'main', '--', 'cat', '/etc/info/labels')).includes(`synced="${n}"`), {
        timeout: 60_000,
        what: `the label synced=${n} in the pod's downward API volume`,
      });
    }
    const after = await podWhen(
      c,
      'config',
      (p) => p.status?.containerStatuses?.[0]?.ready && p.metadata.resourceVersion !== before.metadata.resourceVersion,
      { timeout: 20_000 },
    );
    t.equal(after.status.containerStatuses[0].containerID, before.status.containerStatuses[0].containerID, 'the same container');
    t.equal(after.status.containerStatuses[0].restartCount, 0);
    t.equal(await c.k('exec', 'config', '-c', 'main', '--', 'cat', '/etc/creds/password'), 's3cret', 'and it still works');
  });
});
