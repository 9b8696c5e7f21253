// The built-in registry: every kind the API serves, with kubectl's columns, defaults and validation.
import t from 'tap';
import { Registry } from '../../src/api/registry/registry.js';
import { builtinResources } from '../../src/api/registry/builtin/index.js';
import { columnsOf, toTable } from '../../src/apiserver/table.js';
import type { StoredObject } from '../../src/k8s/object.js';

const registry = new Registry(builtinResources());
const now = new Date('2026-01-01T12:00:00Z');
const ago = (s: number) => new Date(now.getTime() - s * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
const obj = (o: Record<string, unknown>) =>
  ({ metadata: { name: 'x', uid: 'u', resourceVersion: '1', creationTimestamp: ago(90) }, ...o }) as unknown as StoredObject;
const row = (plural: string, group: string, version: string, o: StoredObject, wide = false) => {
  const def = registry.byResource(group, version, plural)!;
  const cols = columnsOf(def);
  const table = toTable(def, [o], {}, now) as { rows: { cells: unknown[] }[] };
  return Object.fromEntries(cols.map((c, i) => [c.name, table.rows[0]!.cells[i]]).filter((_, i) => wide || cols[i]!.priority === 0));
};

t.test('every kind the issue names is served with upstream scope and short names', async (t) => {
  const expect: [string, string, string, boolean, string[]?][] = [
    ['', 'namespaces', 'v1', false, ['ns']],
    ['', 'pods', 'v1', true, ['po']],
    ['', 'nodes', 'v1', false, ['no']],
    ['', 'services', 'v1', true, ['svc']],
    ['', 'endpoints', 'v1', true, ['ep']],
    ['', 'configmaps', 'v1', true, ['cm']],
    ['', 'secrets', 'v1', true],
    ['', 'serviceaccounts', 'v1', true, ['sa']],
    ['', 'events', 'v1', true, ['ev']],
    ['', 'persistentvolumes', 'v1', false, ['pv']],
    ['', 'persistentvolumeclaims', 'v1', true, ['pvc']],
    ['', 'limitranges', 'v1', true, ['limits']],
    ['', 'resourcequotas', 'v1', true, ['quota']],
    ['apps', 'deployments', 'v1', true, ['deploy']],
    ['apps', 'replicasets', 'v1', true, ['rs']],
    ['apps', 'statefulsets', 'v1', true, ['sts']],
    ['apps', 'daemonsets', 'v1', true, ['ds']],
    ['apps', 'controllerrevisions', 'v1', true],
    ['batch', 'jobs', 'v1', true],
    ['batch', 'cronjobs', 'v1', true, ['cj']],
    ['coordination.k8s.io', 'leases', 'v1', true],
    ['discovery.k8s.io', 'endpointslices', 'v1', true],
    ['networking.k8s.io', 'ingresses', 'v1', true, ['ing']],
    ['networking.k8s.io', 'ingressclasses', 'v1', false],
    ['networking.k8s.io', 'networkpolicies', 'v1', true, ['netpol']],
    ['rbac.authorization.k8s.io', 'roles', 'v1', true],
    ['rbac.authorization.k8s.io', 'rolebindings', 'v1', true],
    ['rbac.authorization.k8s.io', 'clusterroles', 'v1', false],
    ['rbac.authorization.k8s.io', 'clusterrolebindings', 'v1', false],
    ['policy', 'poddisruptionbudgets', 'v1', true, ['pdb']],
    ['autoscaling', 'horizontalpodautoscalers', 'v2', true, ['hpa']],
    ['storage.k8s.io', 'storageclasses', 'v1', false, ['sc']],
    ['events.k8s.io', 'events', 'v1', true, ['ev']],
    ['scheduling.k8s.io', 'priorityclasses', 'v1', false, ['pc']],
    ['apiextensions.k8s.io', 'customresourcedefinitions', 'v1', false, ['crd', 'crds']],
  ];
  for (const [group, plural, version, namespaced, shortNames] of expect) {
    const def = registry.byResource(group, version, plural);
    t.ok(def, `${plural}.${group || 'core'}`);
    t.equal(def?.namespaced, namespaced, `${plural} scope`);
    if (shortNames) t.same(def?.shortNames, shortNames, `${plural} short names`);
  }
});

t.test('pod columns read status as kubectl does', async (t) => {
  const pod = (status: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
    obj({ spec: { containers: [{ name: 'a' }, { name: 'b' }], nodeName: 'n1' }, status, ...extra });
  t.same(
    row(
      'pods',
      '',
      'v1',
      pod({
        phase: 'Running',
        podIP: '10.42.0.5',
        containerStatuses: [
          { name: 'a', ready: true, restartCount: 0, state: { running: {} } },
          { name: 'b', ready: true, restartCount: 0, state: { running: {} } },
        ],
      }),
      true,
    ),
    {
      Name: 'x',
      Ready: '2/2',
      Status: 'Running',
      Restarts: '0',
      Age: '90s',
      IP: '10.42.0.5',
      Node: 'n1',
      'Nominated Node': '<none>',
      'Readiness Gates': '<none>',
    },
  );
  const crashing = pod({
    phase: 'Running',
    containerStatuses: [
      {
        name: 'a',
        ready: false,
        restartCount: 4,
        state: { waiting: { reason: 'CrashLoopBackOff' } },
        lastState: { terminated: { exitCode: 1, finishedAt: ago(30) } },
      },
      { name: 'b', ready: true, restartCount: 0, state: { running: {} } },
    ],
  });
  t.match(row('pods', '', 'v1', crashing), { Ready: '1/2', Status: 'CrashLoopBackOff', Restarts: '4 (30s ago)' });
  const init = obj({
    spec: { initContainers: [{ name: 'i' }], containers: [{ name: 'a' }] },
    status: { phase: 'Pending', initContainerStatuses: [{ name: 'i', restartCount: 0, state: { running: {} } }] },
  });
  t.match(row('pods', '', 'v1', init), { Status: 'Init:0/1', Ready: '0/1' });
  const terminating = pod({ phase: 'Running' }, { metadata: { name: 'x', creationTimestamp: ago(10), deletionTimestamp: ago(0) } });
  t.match(row('pods', '', 'v1', terminating), { Status: 'Terminating' });
  const done = pod({ phase: 'Succeeded', containerStatuses: [{ name: 'a', state: { terminated: { exitCode: 0, reason: 'Completed' } } }] });
  t.match(row('pods', '', 'v1', done), { Status: 'Completed' });
});

t.test('workload, service and node columns', async (t) => {
  t.same(
    row(
      'deployments',
      'apps',
      'v1',
      obj({
        spec: { replicas: 3, selector: { matchLabels: { app: 'web' } }, template: { spec: { containers: [{ name: 'c', image: 'i:1' }] } } },
        status: { readyReplicas: 2, updatedReplicas: 3, availableReplicas: 2 },
      }),
      true,
    ),
    {
      Name: 'x',
      Ready: '2/3',
      'Up-to-date': 3,
      Available: 2,
      Age: '90s',
      Containers: 'c',
      Images: 'i:1',
      Selector: 'app=web',
    },
  );
  t.match(
    row(
      'services',
      '',
      'v1',
      obj({
        spec: {
          type: 'NodePort',
          clusterIP: '10.43.0.9',
          ports: [
            { port: 80, nodePort: 30080, protocol: 'TCP' },
            { port: 53, protocol: 'UDP' },
          ],
        },
      }),
    ),
    {
      Type: 'NodePort',
      'Cluster-IP': '10.43.0.9',
      'External-IP': '<none>',
      'Port(s)': '80:30080/TCP,53/UDP',
    },
  );
  t.match(row('services', '', 'v1', obj({ spec: { type: 'LoadBalancer', clusterIP: '10.43.0.2', ports: [{ port: 443 }] } })), {
    'External-IP': '<pending>',
  });
  t.match(
    row(
      'nodes',
      '',
      'v1',
      obj({
        metadata: { name: 'n1', creationTimestamp: ago(3600 * 5), labels: { 'node-role.kubernetes.io/control-plane': 'true' } },
        spec: { unschedulable: true },
        status: { conditions: [{ type: 'Ready', status: 'True' }], nodeInfo: { kubeletVersion: 'v1.32.0+skiff1' } },
      }),
    ),
    {
      Status: 'Ready,SchedulingDisabled',
      Roles: 'control-plane',
      Age: '5h',
      Version: 'v1.32.0+skiff1',
    },
  );
  const ev = row(
    'events',
    '',
    'v1',
    obj({
      type: 'Warning',
      reason: 'BackOff',
      involvedObject: { kind: 'Pod', name: 'p' },
      message: 'Back-off restarting',
      lastTimestamp: ago(65),
    }),
  );
  t.same(
    ev,
    { 'Last Seen': '65s', Type: 'Warning', Reason: 'BackOff', Object: 'pod/p', Message: 'Back-off restarting' },
    'events have no NAME column first',
  );
});

t.test('defaults', async (t) => {
  const deploy = {
    metadata: { name: 'd' },
    spec: {
      selector: { matchLabels: { a: 'b' } },
      template: { metadata: { labels: { a: 'b' } }, spec: { containers: [{ name: 'c', image: 'nginx', ports: [{ containerPort: 80 }] }] } },
    },
  } as any;
  registry.byResource('apps', 'v1', 'deployments')!.defaults!(deploy);
  t.match(deploy.spec, {
    replicas: 1,
    revisionHistoryLimit: 10,
    progressDeadlineSeconds: 600,
    strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } },
  });
  t.match(deploy.spec.template.spec, {
    restartPolicy: 'Always',
    dnsPolicy: 'ClusterFirst',
    schedulerName: 'default-scheduler',
    terminationGracePeriodSeconds: 30,
  });
  t.match(deploy.spec.template.spec.containers[0], {
    imagePullPolicy: 'Always',
    terminationMessagePath: '/dev/termination-log',
    ports: [{ protocol: 'TCP' }],
  });
  const svc = { metadata: { name: 's' }, spec: { ports: [{ port: 80 }] } } as any;
  registry.byResource('', 'v1', 'services')!.defaults!(svc);
  t.match(svc.spec, { type: 'ClusterIP', sessionAffinity: 'None', ports: [{ port: 80, targetPort: 80, protocol: 'TCP' }] });
  const pod = {
    metadata: { name: 'p' },
    spec: { containers: [{ name: 'c', image: 'busybox:1.36', resources: { limits: { cpu: '1', memory: '1Gi' } } }] },
  } as any;
  registry.byResource('', 'v1', 'pods')!.defaults!(pod);
  t.match(pod, {
    spec: {
      serviceAccountName: 'default',
      priority: 0,
      containers: [{ imagePullPolicy: 'IfNotPresent', resources: { requests: { cpu: '1', memory: '1Gi' } } }],
    },
    status: { phase: 'Pending', qosClass: 'Guaranteed' },
  });
  t.equal(pod.spec.tolerations.length, 2, 'not-ready and unreachable tolerations for 300 s');
  const secret = { metadata: { name: 's' }, stringData: { a: 'hi' } } as any;
  registry.byResource('', 'v1', 'secrets')!.defaults!(secret);
  t.same(secret, { metadata: { name: 's' }, type: 'Opaque', data: { a: 'aGk=' } });
  const job = (extra: object) =>
    ({
      metadata: { name: 'j' },
      spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'x' }] } }, ...extra },
    }) as any;
  const jobs = registry.byResource('batch', 'v1', 'jobs')!;
  const plain = job({});
  jobs.defaults!(plain);
  t.equal(plain.spec.podReplacementPolicy, 'TerminatingOrFailed');
  const withPolicy = job({ podFailurePolicy: { rules: [{ action: 'FailJob', onExitCodes: { operator: 'In', values: [42] } }] } });
  jobs.defaults!(withPolicy);
  t.equal(withPolicy.spec.podReplacementPolicy, 'Failed', 'a job with a podFailurePolicy replaces pods once they failed');
});

t.test('validation messages in Kubernetes words', async (t) => {
  const validate = (plural: string, group: string, o: any, old?: any) =>
    registry.byResource(group, group === 'apps' || group === 'batch' ? 'v1' : 'v1', plural)!.validate!(o, old).map(
      (e) => `${e.field}: ${e.detail}`,
    );
  t.match(
    validate('configmaps', '', { metadata: { name: 'Bad_Name' } })[0],
    /^metadata\.name: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain must consist of/,
  );
  t.match(validate('services', '', { metadata: { name: '1abc' }, spec: { ports: [{ port: 80 }] } })[0], /a DNS-1035 label must consist of/);
  t.same(validate('pods', '', { metadata: { name: 'p' }, spec: { containers: [] } }), ['spec.containers: Required value']);
  t.same(
    validate('pods', '', {
      metadata: { name: 'p' },
      spec: {
        containers: [
          { name: 'a', image: 'i' },
          { name: 'a', image: 'i', ports: [{ containerPort: 70000 }] },
        ],
        restartPolicy: 'Sometimes',
      },
    }),
    [
      'spec.containers[1].name: Duplicate value: "a"',
      'spec.containers[1].ports[0].containerPort: Invalid value: 70000: must be between 1 and 65535, inclusive',
      'spec.restartPolicy: Unsupported value: "Sometimes": supported values: "Always", "OnFailure", "Never"',
    ],
  );
  t.same(validate('configmaps', '', { metadata: { name: 'c', labels: { 'bad key': 'v' } } }).length, 1);
  const d = {
    metadata: { name: 'd' },
    spec: {
      selector: { matchLabels: { a: 'b' } },
      template: { metadata: { labels: { a: 'c' } }, spec: { containers: [{ name: 'c', image: 'i' }] } },
    },
  };
  t.match(validate('deployments', 'apps', d), [
    /spec\.template\.metadata\.labels: Invalid value: .*`selector` does not match template `labels`/,
  ]);
  const ok = { ...d, spec: { ...d.spec, template: { ...d.spec.template, metadata: { labels: { a: 'b' } } } } };
  t.same(validate('deployments', 'apps', ok), []);
  t.match(validate('deployments', 'apps', { ...ok, spec: { ...ok.spec, selector: { matchLabels: { a: 'b', x: 'y' } } } }, ok), [
    /`selector` does not match/,
    /spec\.selector: Invalid value: .*field is immutable/,
  ]);
  t.match(
    validate('cronjobs', 'batch', {
      metadata: { name: 'c' },
      spec: {
        schedule: '61 * * * *',
        jobTemplate: { spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'i' }] } } } },
      },
    }),
    [/spec\.schedule: Invalid value: "61 \* \* \* \*"/],
  );
  t.same(
    validate(
      'configmaps',
      '',
      { metadata: { name: 'c' }, immutable: true, data: { a: '2' } },
      { metadata: { name: 'c' }, immutable: true, data: { a: '1' } },
    ),
    ['data: Forbidden: field is immutable when `immutable` is set'],
  );
});
