// The cluster's Pod Security defaults and exemptions from an AdmissionConfiguration file: read as
// kube-apiserver reads it (inline or by path), refused with a message naming the bad part, and
// applied to namespaces without labels, except for exempt namespaces and users.
import fs from 'node:fs';
import path from 'node:path';
import t, { type Test } from 'tap';
import { readPodSecurityConfig } from '../../src/api/admission/pod-security/config-file.js';
import { apiHarness } from '../apiserver/harness.js';
import { tempDir } from '../helpers/tmp.js';

const ADMISSION = 'apiVersion: apiserver.config.k8s.io/v1\nkind: AdmissionConfiguration\n';
const POD_SECURITY = `apiVersion: pod-security.admission.config.k8s.io/v1
kind: PodSecurityConfiguration
defaults:
  enforce: restricted
  enforce-version: latest
  warn: baseline
  warn-version: v1.25
exemptions:
  usernames: [ops]
  namespaces: [kube-system]
  runtimeClasses: []
`;
const inline = `${ADMISSION}plugins:\n- name: PodSecurity\n  configuration:\n${POD_SECURITY.replace(/^/gm, '    ')}`;

function write(t: Test, name: string, text: string): string {
  const file = path.join(tempDir(t), name);
  fs.writeFileSync(file, text);
  return file;
}

t.test('inline and by path, upstream keys and versions', async (t) => {
  const expected = {
    defaults: {
      enforce: { level: 'restricted' },
      audit: { level: 'privileged' },
      warn: { level: 'baseline', minor: 25 },
    },
    exemptions: { usernames: ['ops'], namespaces: ['kube-system'], runtimeClasses: [] },
  };
  t.same(readPodSecurityConfig(write(t, 'admission.yaml', inline)), expected);
  const dir = tempDir(t);
  fs.writeFileSync(path.join(dir, 'psa.yaml'), POD_SECURITY);
  fs.writeFileSync(path.join(dir, 'admission.yaml'), `${ADMISSION}plugins:\n- name: PodSecurity\n  path: psa.yaml\n`);
  t.same(readPodSecurityConfig(path.join(dir, 'admission.yaml')), expected);
  t.same(readPodSecurityConfig(write(t, 'other.yaml', `${ADMISSION}plugins: []\n`)), {}, 'no PodSecurity entry: upstream defaults');
});

t.test('bad files are refused with a message naming the problem', async (t) => {
  const bad = (text: string) => () => readPodSecurityConfig(write(t, 'bad.yaml', text));
  t.throws(() => readPodSecurityConfig('/nonexistent/admission.yaml'), /admission config \/nonexistent\/admission.yaml: ENOENT/);
  t.throws(bad('a: [\n'), /admission config .*bad.yaml: /);
  t.throws(bad('kind: Pod\n'), /expected kind AdmissionConfiguration/);
  t.throws(bad(inline.replace('enforce: restricted', 'enforce: strict')), /defaults.enforce: Invalid value: "strict": must be one of/);
  t.throws(bad(inline.replace('v1.25', '1.25')), /defaults.warn-version: Invalid value: "1.25": must be "latest" or "v1.x"/);
  t.throws(bad(inline.replace('enforce-version', 'enforce-versio')), /unknown field "defaults.enforce-versio"/);
  t.throws(bad(inline.replace('usernames: [ops]', 'usernames: ops')), /exemptions.usernames must be a list of names/);
  t.throws(bad(inline.replace('kind: PodSecurityConfiguration', 'kind: Other')), /expected kind PodSecurityConfiguration/);
});

t.test('defaults hold where a namespace has no label; exempt namespaces and users are not checked', async (t) => {
  const h = await apiHarness(t, { podSecurity: readPodSecurityConfig(write(t, 'admission.yaml', inline)) });
  const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { containers: [{ name: 'c', image: 'busybox' }] } };
  const refused = await h.request('POST', '/api/v1/namespaces/default/pods', pod);
  t.equal(refused.status, 403);
  t.match(refused.body.message, /^pods "p" is forbidden: violates PodSecurity "restricted:latest": /);
  t.equal((await h.request('POST', '/api/v1/namespaces/kube-system/pods', pod)).status, 201, 'exempt namespace');
  const labelled = {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name: 'open', labels: { 'pod-security.kubernetes.io/enforce': 'privileged' } },
  };
  t.equal((await h.request('POST', '/api/v1/namespaces', labelled)).status, 201);
  const hostNetwork = { ...pod, spec: { ...pod.spec, hostNetwork: true } };
  const open = await h.request('POST', '/api/v1/namespaces/open/pods', hostNetwork);
  t.equal(open.status, 201, "a namespace's label overrides the default enforce level");
  t.match(
    open.headers.get('warning'),
    /would violate PodSecurity \\"baseline:v1.25\\": host namespaces \(hostNetwork\)/,
    'the default warn level still applies',
  );
  const ops = { username: 'ops', groups: ['system:masters', 'system:authenticated'] };
  const asOps = await h.app.fetch(
    new Request('https://skiff.test/api/v1/namespaces/default/pods', {
      method: 'POST',
      body: JSON.stringify(pod),
      headers: { 'content-type': 'application/json' },
    }),
    { user: ops },
  );
  t.equal(asOps.status, 201, 'exempt user');
});
