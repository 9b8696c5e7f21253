// The metrics API on a real node: the agent's /stats/summary read by the server's metrics.k8s.io,
// seen through `kubectl top`; and `--disable metrics-server` leaves neither the API nor its APIService.
import fs from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import t from 'tap';
import { API_ONLY, startCluster } from '../helpers/cluster.js';
import { eventually } from '../helpers/eventually.js';
import { BUSYBOX } from '../helpers/node-env.js';

const pod = (name: string, script: string) => `apiVersion: v1
kind: Pod
metadata: {name: ${name}, labels: {app: load, role: ${name}}}
spec:
  terminationGracePeriodSeconds: 0
  containers:
  - {name: main, image: ${BUSYBOX}, command: [sh, -c, '${script}'], resources: {requests: {cpu: 100m, memory: 16Mi}}}
`;

/** `kubectl top pods --containers` rows as pod/container -> [millicores, MiB]. */
function topRows(out: string): Map<string, [number, number]> {
  const rows = new Map<string, [number, number]>();
  for (const line of out.trim().split('\n').slice(1)) {
    const [podName, container, cpu, memory] = line.trim().split(/\s+/) as [string, string, string, string];
    rows.set(`${podName}/${container}`, [Number(cpu.replace(/m$/, '')), Number(memory.replace(/Mi$/, ''))]);
  }
  return rows;
}

/** GET on the node's kubelet port, with the API server's kubelet client certificate or none. */
function kubeletGet(url: string, cert?: { cert: string; key: string }): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    https
      .get(url, { rejectUnauthorized: false, ...cert }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      })
      .on('error', reject);
  });
}

t.test('kubectl top: nodes and pods with containers, a busy pod above an idle one', async (t) => {
  const c = await startCluster(t, [], { agent: true });
  t.match(
    await eventually(async () => {
      const out = await c.k('get', 'apiservice', 'v1beta1.metrics.k8s.io');
      return /\sLocal\s+True\s/.test(out) ? out : undefined;
    }),
    /^v1beta1\.metrics\.k8s\.io\s+Local\s+True\s+\d+[smh]\S*$/m,
    'the metrics APIService is local and Available',
  );
  t.match(await c.k('api-resources', '--api-group', 'metrics.k8s.io'), /\bpods\s+metrics\.k8s\.io\/v1beta1\s+true\s+PodMetrics\b/);

  await c.kubectl(['apply', '-f', '-'], { input: pod('busy', 'while true; do :; done') });
  await c.kubectl(['apply', '-f', '-'], { input: pod('idle', 'exec sleep 3600') });
  t.teardown(async () => {
    await c.kubectl(['delete', 'pod', 'busy', 'idle', '--wait=true']);
  });
  await c.k('wait', '--for=condition=Ready', 'pod/busy', 'pod/idle', '--timeout=120s');

  const nodes = await eventually(
    async () => {
      const r = await c.kubectl(['top', 'nodes']);
      return r.code === 0 ? r.stdout : undefined;
    },
    { what: 'kubectl top nodes' },
  );
  t.match(nodes, /^NAME\s+CPU\(cores\)\s+CPU\(%\)\s+MEMORY\(bytes\)\s+MEMORY\(%\)\s*\n\S+\s+\d+m\s+\d+%\s+\d+Mi\s+\d+%\s*$/);

  // The busy loop burns about a core; wait for a reading taken while it ran.
  const rows = await eventually(
    async () => {
      const r = await c.kubectl(['top', 'pods', '-A', '--containers']);
      if (r.code !== 0) return undefined;
      const got = topRows(
        r.stdout
          .split('\n')
          .map((l) => l.replace(/^\S+\s+/, ''))
          .join('\n'),
      );
      const busy = got.get('busy/main');
      const idle = got.get('idle/main');
      return busy && idle && busy[0] >= 200 ? { busy, idle, out: r.stdout } : undefined;
    },
    { what: 'a busy pod using CPU in kubectl top pods', timeout: 90_000 },
  );
  t.match(rows.out, /^NAMESPACE\s+POD\s+NAME\s+CPU\(cores\)\s+MEMORY\(bytes\)\s*$/m);
  t.ok(rows.busy[0] > rows.idle[0] + 100, `busy ${rows.busy[0]}m is well above idle ${rows.idle[0]}m`);
  t.ok(rows.idle[0] < 50, 'the idle pod uses next to no CPU');
  t.ok(rows.busy[1] >= 0 && rows.idle[1] >= 0, 'memory is shown');

  // Label selectors and a single pod's metrics, as the HPA controller and kubectl read them.
  const selected = JSON.parse(await c.k('get', '--raw', '/apis/metrics.k8s.io/v1beta1/namespaces/default/pods?labelSelector=role%3Didle'));
  t.same(
    selected.items.map((m: { metadata: { name: string } }) => m.metadata.name),
    ['idle'],
  );
  t.equal(selected.kind, 'PodMetricsList');
  const one = JSON.parse(await c.k('get', '--raw', '/apis/metrics.k8s.io/v1beta1/namespaces/default/pods/busy'));
  t.match(one, {
    kind: 'PodMetrics',
    metadata: { name: 'busy', namespace: 'default' },
    containers: [{ name: 'main', usage: { cpu: /^\d+n$/ } }],
  });
  const missing = await c.kubectl(['get', '--raw', '/apis/metrics.k8s.io/v1beta1/namespaces/default/pods/nope']);
  t.match(missing.stderr, /NotFound|not found/);

  // metrics-server's reader role is aggregated into view: a namespace's viewer may top its pods.
  await c.k('create', 'rolebinding', 'viewer', '--clusterrole=view', '--serviceaccount=default:viewer');
  const asViewer = await eventually(async () => {
    const r = await c.kubectl(['top', 'pods', '--as=system:serviceaccount:default:viewer']);
    return r.code === 0 ? r.stdout : undefined;
  });
  t.match(asViewer, /^busy\s+\d+m\s+\d+Mi\s*$/m);
  const nodesAsViewer = await c.kubectl(['top', 'nodes', '--as=system:serviceaccount:default:viewer']);
  t.match(nodesAsViewer.stderr, /forbidden/i, 'but not the nodes, which view does not cover cluster-wide');

  // The kubelet's own endpoints, as metrics-server would scrape them: only for the API server's certificate.
  const node = JSON.parse(await c.k('get', 'nodes', '-o', 'json')).items[0];
  const ip = node.status.addresses.find((a: { type: string }) => a.type === 'InternalIP').address;
  const base = `https://${ip}:${node.status.daemonEndpoints.kubeletEndpoint.Port}`;
  const tls = path.join(c.dataDir, 'server', 'tls');
  const cert = {
    cert: fs.readFileSync(path.join(tls, 'client-kube-apiserver.crt'), 'utf8'),
    key: fs.readFileSync(path.join(tls, 'client-kube-apiserver.key'), 'utf8'),
  };
  t.equal((await kubeletGet(`${base}/stats/summary`)).status, 403, 'refused without the client certificate');
  const summary = JSON.parse((await kubeletGet(`${base}/stats/summary`, cert)).body);
  t.match(summary.node, {
    nodeName: node.metadata.name,
    cpu: { usageNanoCores: Number, usageCoreNanoSeconds: Number },
    memory: { workingSetBytes: Number },
  });
  t.match(
    summary.pods.find((p: { podRef: { name: string } }) => p.podRef.name === 'busy'),
    { podRef: { namespace: 'default' }, containers: [{ name: 'main', cpu: { usageCoreNanoSeconds: Number } }] },
  );
  const resource = await kubeletGet(`${base}/metrics/resource`, cert);
  t.match(resource.body, /^node_cpu_usage_seconds_total [\d.e+]+ \d{13}$/m);
  t.match(resource.body, /^node_memory_working_set_bytes \d+ \d{13}$/m);
  t.match(resource.body, /^container_cpu_usage_seconds_total\{container="main",namespace="default",pod="busy"\} [\d.e+]+ \d{13}$/m);
  t.match(resource.body, /^pod_memory_working_set_bytes\{namespace="default",pod="idle"\} \d+ \d{13}$/m);
});

t.test('--disable metrics-server: no metrics API, no APIService, kubectl top says so', async (t) => {
  const c = await startCluster(t, [...API_ONLY, '--disable', 'metrics-server']);
  const top = await c.kubectl(['top', 'nodes']);
  t.not(top.code, 0);
  t.match(top.stderr, /Metrics API not available/);
  const svc = await c.kubectl(['get', 'apiservice', 'v1beta1.metrics.k8s.io']);
  t.not(svc.code, 0);
  t.match(svc.stderr, /NotFound/);
  t.notMatch(await c.k('api-versions'), /metrics\.k8s\.io/);
  t.match((await c.kubectl(['get', 'clusterrole', 'system:aggregated-metrics-reader'])).stderr, /NotFound/, 'nor its reader role');
});
