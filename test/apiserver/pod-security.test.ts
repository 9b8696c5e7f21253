// Pod Security admission through the API: enforce refuses with upstream's 403, warn answers with a
// Warning header, workload templates are warned about, bad labels are refused, and labelling a
// namespace warns of the pods already in it.
import t from 'tap';
import { log } from '../../src/log.js';
import { apiHarness, type Harness } from './harness.js';

const PSA = 'pod-security.kubernetes.io';

async function namespace(h: Harness, name: string, labels: Record<string, string>) {
  const r = await h.request('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } });
  if (r.status !== 201) throw new Error(`namespace ${name}: ${JSON.stringify(r.body)}`);
}

const pod = (name: string, container: object = {}, spec: object = {}) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name },
  spec: { containers: [{ name: 'c', image: 'busybox', ...container }], ...spec },
});

const restrictedPod = (name: string) =>
  pod(
    name,
    { securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } } },
    { securityContext: { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } } },
  );

/** The Warning header's messages, as kubectl reads them. */
const warnings = (headers: Headers) =>
  [...(headers.get('warning') ?? '').matchAll(/299 - "((?:[^"\\]|\\.)*)"/g)].map((m) => JSON.parse(`"${m[1]}"`) as string);

t.test('enforce refuses a violating pod with upstream 403 and stores nothing; a compliant pod is created', async (t) => {
  const h = await apiHarness(t);
  await namespace(h, 'locked', { [`${PSA}/enforce`]: 'restricted' });
  const refused = await h.request('POST', '/api/v1/namespaces/locked/pods', pod('x'));
  t.equal(refused.status, 403);
  t.match(refused.body, { kind: 'Status', reason: 'Forbidden', code: 403, details: { name: 'x', kind: 'pods' } });
  t.equal(
    refused.body.message,
    'pods "x" is forbidden: violates PodSecurity "restricted:latest": ' +
      'allowPrivilegeEscalation != false (container "c" must set securityContext.allowPrivilegeEscalation=false), ' +
      'unrestricted capabilities (container "c" must set securityContext.capabilities.drop=["ALL"]), ' +
      'runAsNonRoot != true (pod or container "c" must set securityContext.runAsNonRoot=true), ' +
      'seccompProfile (pod or container "c" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")',
  );
  t.equal((await h.request('GET', '/api/v1/namespaces/locked/pods/x')).status, 404, 'nothing stored');
  const ok = await h.request('POST', '/api/v1/namespaces/locked/pods', restrictedPod('ok'));
  t.equal(ok.status, 201, ok.status === 201 ? 'a compliant pod is created' : JSON.stringify(ok.body));
  t.notOk(ok.headers.get('warning'));

  const pinned = await h.request('POST', '/api/v1/namespaces/default/pods', pod('anything', { securityContext: { privileged: true } }));
  t.equal(pinned.status, 201, 'the cluster default is privileged');

  await namespace(h, 'old', { [`${PSA}/enforce`]: 'restricted', [`${PSA}/enforce-version`]: 'v1.22' });
  const older = await h.request(
    'POST',
    '/api/v1/namespaces/old/pods',
    pod(
      'u',
      { securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] }, runAsUser: 0 } },
      {
        securityContext: { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } },
      },
    ),
  );
  t.equal(older.status, 201, 'runAsUser=0 is only refused from policy v1.23 on');
});

t.test('updates: only a changed image is checked again; status never', async (t) => {
  const h = await apiHarness(t);
  await namespace(h, 'n', {});
  await h.request('POST', '/api/v1/namespaces/n/pods', pod('p', { securityContext: { privileged: true } }));
  await h.request(
    'PATCH',
    '/api/v1/namespaces/n',
    { metadata: { labels: { [`${PSA}/enforce`]: 'baseline' } } },
    {
      'content-type': 'application/merge-patch+json',
    },
  );
  const merge = { 'content-type': 'application/merge-patch+json' };
  const labelled = await h.request('PATCH', '/api/v1/namespaces/n/pods/p', { metadata: { labels: { a: 'b' } } }, merge);
  t.equal(labelled.status, 200, 'a label change is not significant');
  const status = await h.request('PATCH', '/api/v1/namespaces/n/pods/p/status', { status: { phase: 'Running' } }, merge);
  t.equal(status.status, 200, 'status is not checked');
  const image = await h.request(
    'PATCH',
    '/api/v1/namespaces/n/pods/p',
    { spec: { containers: [{ name: 'c', image: 'busybox:2' }] } },
    {
      'content-type': 'application/strategic-merge-patch+json',
    },
  );
  t.equal(image.status, 403);
  t.match(image.body.message, /^pods "p" is forbidden: violates PodSecurity "baseline:latest": privileged \(container "c" must not set/);
});

t.test('warn answers with a Warning header, for pods and for workload templates alike', async (t) => {
  const h = await apiHarness(t);
  await namespace(h, 'w', { [`${PSA}/warn`]: 'baseline', [`${PSA}/warn-version`]: 'v1.30', [`${PSA}/audit`]: 'restricted' });
  const created = await h.request(
    'POST',
    '/api/v1/namespaces/w/pods',
    pod('p', { securityContext: { privileged: true } }, { hostPID: true }),
  );
  t.equal(created.status, 201);
  t.same(warnings(created.headers), [
    'would violate PodSecurity "baseline:v1.30": host namespaces (hostPID), ' +
      'privileged (container "c" must not set securityContext.privileged=true)',
  ]);
  const deployment = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'd' },
    spec: {
      selector: { matchLabels: { app: 'd' } },
      template: { metadata: { labels: { app: 'd' } }, spec: pod('', { ports: [{ containerPort: 80, hostPort: 80 }] }).spec },
    },
  };
  const d = await h.request('POST', '/apis/apps/v1/namespaces/w/deployments', deployment);
  t.equal(d.status, 201);
  t.same(warnings(d.headers), ['would violate PodSecurity "baseline:v1.30": hostPort (container "c" uses hostPort 80)']);
  const scaled = await h.request(
    'PATCH',
    '/apis/apps/v1/namespaces/w/deployments/d/scale',
    { spec: { replicas: 2 } },
    {
      'content-type': 'application/merge-patch+json',
    },
  );
  t.notOk(scaled.headers.get('warning'), 'subresources are not checked');

  await namespace(h, 'e', { [`${PSA}/enforce`]: 'restricted' });
  const job = {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: 'j' },
    spec: { template: { spec: { ...pod('').spec, restartPolicy: 'Never' } } },
  };
  const j = await h.request('POST', '/apis/batch/v1/namespaces/e/jobs', job);
  t.equal(j.status, 201, 'enforce never refuses a workload (its pods are refused)');
  t.notOk(j.headers.get('warning'), 'and says nothing where warn and audit are privileged, as upstream');
});

t.test('bad labels are refused; a stricter enforce label warns of the pods already there', async (t) => {
  const h = await apiHarness(t);
  const bad = await h.request('POST', '/api/v1/namespaces', {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name: 'bad', labels: { [`${PSA}/enforce`]: 'strict' } },
  });
  t.equal(bad.status, 422);
  t.equal(
    bad.body.message,
    'Namespace "bad" is invalid: metadata.labels[pod-security.kubernetes.io/enforce]: Invalid value: "strict": ' +
      'must be one of privileged, baseline, restricted',
  );
  t.equal((await h.request('GET', '/api/v1/namespaces/bad')).status, 404);

  await namespace(h, 'apps', {});
  for (const name of ['web-2', 'web-1', 'web-3'])
    await h.request('POST', '/api/v1/namespaces/apps/pods', pod(name, { securityContext: { privileged: true } }));
  await h.request('POST', '/api/v1/namespaces/apps/pods', pod('host', {}, { hostNetwork: true }));
  await h.request('POST', '/api/v1/namespaces/apps/pods', pod('fine'));
  const merge = { 'content-type': 'application/merge-patch+json' };
  const labelled = await h.request('PATCH', '/api/v1/namespaces/apps', { metadata: { labels: { [`${PSA}/enforce`]: 'baseline' } } }, merge);
  t.equal(labelled.status, 200);
  t.same(warnings(labelled.headers), [
    'existing pods in namespace "apps" violate the new PodSecurity enforce level "baseline:latest"',
    'host: host namespaces',
    'web-1 (and 2 other pods): privileged',
  ]);
  const relaxed = await h.request(
    'PATCH',
    '/api/v1/namespaces/apps',
    { metadata: { labels: { [`${PSA}/enforce`]: 'privileged' } } },
    merge,
  );
  t.notOk(relaxed.headers.get('warning'), 'relaxing says nothing');
  const badUpdate = await h.request(
    'PATCH',
    '/api/v1/namespaces/apps',
    { metadata: { labels: { [`${PSA}/warn-version`]: '1.2' } } },
    merge,
  );
  t.equal(badUpdate.status, 422);
  t.match(badUpdate.body.message, /warn-version\]: Invalid value: "1.2": must be "latest" or "v1.x"/);
});

t.test('audit: no audit log to annotate, so the annotation upstream would add is logged', async (t) => {
  const h = await apiHarness(t);
  await namespace(h, 'audited', { [`${PSA}/audit`]: 'baseline' });
  const lines: unknown[][] = [];
  const info = log.info.bind(log);
  log.info = ((...args: unknown[]) => {
    lines.push(args);
  }) as typeof log.info;
  t.teardown(() => {
    log.info = info;
  });
  const created = await h.request('POST', '/api/v1/namespaces/audited/pods', pod('a', {}, { hostIPC: true }));
  t.equal(created.status, 201);
  t.notOk(created.headers.get('warning'), 'audit alone warns nobody');
  t.match(
    lines.find((l) => l[1] === 'PodSecurity audit'),
    [
      {
        resource: 'pods',
        namespace: 'audited',
        name: 'a',
        'pod-security.kubernetes.io/audit-violations': 'would violate PodSecurity "baseline:latest": host namespaces (hostIPC)',
      },
      'PodSecurity audit',
    ],
  );
});
