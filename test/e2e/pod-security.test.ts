// Pod Security admission through the real kubectl: a refused pod is told upstream's reason, warn
// labels are printed as kubectl's "Warning:" lines, labelling a namespace warns of its pods, and
// the cluster's defaults come from an admission config file.
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { API_ONLY, startCluster } from '../helpers/cluster.js';
import { tempDir } from '../helpers/tmp.js';

const pod = (name: string, securityContext: object = {}, spec: object = {}) =>
  JSON.stringify({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name },
    spec: { containers: [{ name: 'c', image: 'busybox', securityContext }], ...spec },
  });

t.test('kubectl and Pod Security: enforce, warn, and a namespace label over existing pods', async (t) => {
  const c = await startCluster(t, API_ONLY);
  await c.k('create', 'namespace', 'team');
  await c.k('label', 'namespace', 'team', 'pod-security.kubernetes.io/enforce=restricted', 'pod-security.kubernetes.io/warn=restricted');

  const refused = await c.kubectl(['-n', 'team', 'apply', '-f', '-'], { input: pod('root') });
  t.not(refused.code, 0);
  t.match(
    refused.stderr,
    'Error from server (Forbidden): error when creating "STDIN": pods "root" is forbidden: violates PodSecurity "restricted:latest": ' +
      'allowPrivilegeEscalation != false (container "c" must set securityContext.allowPrivilegeEscalation=false)',
  );
  const run = await c.kubectl(['-n', 'team', 'run', 'quick', '--image=busybox', '--restart=Never']);
  t.not(run.code, 0, 'kubectl run (a protobuf body) is refused too');
  t.match(run.stderr, /pods "quick" is forbidden: violates PodSecurity "restricted:latest"/);
  t.equal((await c.kubectl(['-n', 'team', 'get', 'pod', 'root'])).code, 1, 'nothing was stored');

  const deployment = JSON.stringify({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web' },
    spec: {
      selector: { matchLabels: { app: 'web' } },
      template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'web', image: 'busybox' }] } },
    },
  });
  const warned = await c.kubectl(['-n', 'team', 'apply', '-f', '-'], { input: deployment });
  t.equal(warned.code, 0, 'the Deployment is created, with a warning');
  t.match(warned.stderr, /^Warning: would violate PodSecurity "restricted:latest": allowPrivilegeEscalation != false \(container "web"/m);
  t.match(warned.stdout, 'deployment.apps/web created');

  await c.k('create', 'namespace', 'legacy');
  await c.kubectl(['-n', 'legacy', 'apply', '-f', '-'], { input: pod('priv', { privileged: true }) });
  const labelled = await c.kubectl(['label', 'namespace', 'legacy', 'pod-security.kubernetes.io/enforce=baseline']);
  t.equal(labelled.code, 0, 'the label is set, with warnings');
  t.match(labelled.stderr, 'Warning: existing pods in namespace "legacy" violate the new PodSecurity enforce level "baseline:latest"');
  t.match(labelled.stderr, 'Warning: priv: privileged');
  t.match(labelled.stdout, 'namespace/legacy labeled');

  const bad = await c.kubectl(['label', 'namespace', 'legacy', '--overwrite', 'pod-security.kubernetes.io/enforce=strict']);
  t.not(bad.code, 0);
  t.match(bad.stderr, /Namespace "legacy" is invalid: metadata.labels\[pod-security.kubernetes.io\/enforce\]: Invalid value: "strict"/);
});

t.test('cluster-wide defaults from --kube-apiserver-arg admission-control-config-file, as on K3s', async (t) => {
  const file = path.join(tempDir(t), 'psa.yaml');
  fs.writeFileSync(
    file,
    `apiVersion: apiserver.config.k8s.io/v1
kind: AdmissionConfiguration
plugins:
- name: PodSecurity
  configuration:
    apiVersion: pod-security.admission.config.k8s.io/v1
    kind: PodSecurityConfiguration
    defaults: {enforce: baseline, enforce-version: latest}
    exemptions: {namespaces: [kube-system]}
`,
  );
  const c = await startCluster(t, [...API_ONLY, '--kube-apiserver-arg', `admission-control-config-file=${file}`]);
  const refused = await c.kubectl(['apply', '-f', '-'], { input: pod('priv', { privileged: true }) });
  t.not(refused.code, 0, 'an unlabelled namespace gets the default level');
  t.match(refused.stderr, /pods "priv" is forbidden: violates PodSecurity "baseline:latest": privileged \(container "c" must not set/);
  const exempt = await c.kubectl(['-n', 'kube-system', 'apply', '-f', '-'], { input: pod('priv', { privileged: true }) });
  t.equal(exempt.code, 0, `an exempt namespace is not checked: ${exempt.stderr}`);
});
