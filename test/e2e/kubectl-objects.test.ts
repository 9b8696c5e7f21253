// The everyday kubectl object workflow against a real skiff server: apply, get, describe, patch,
// scale, label, server-side apply, dry runs, explain, and bad input answered in Kubernetes' words.
import t from 'tap';
import { API_ONLY, startCluster } from '../helpers/cluster.js';

const deployment = 'test/e2e/fixtures/deployment.yaml';

t.test('apply creates, reapplies as configured or unchanged, and get prints kubectl columns', async (t) => {
  const c = await startCluster(t, API_ONLY);
  t.equal(await c.k('apply', '-f', deployment), 'deployment.apps/web created\n');
  t.equal(await c.k('apply', '-f', deployment), 'deployment.apps/web unchanged\n');
  const changed = (await import('node:fs'))
    .readFileSync(deployment, 'utf8')
    .replace('replicas: 2', 'replicas: 3')
    .replace('busybox:1.36', 'busybox:1.37');
  t.equal(await c.kubectl(['apply', '-f', '-'], { input: changed }).then((r) => r.stdout + r.stderr), 'deployment.apps/web configured\n');

  const obj = JSON.parse(await c.k('get', 'deployment', 'web', '-o', 'json'));
  t.equal(obj.spec.replicas, 3);
  t.equal(obj.spec.template.spec.containers[0].image, 'busybox:1.37');
  t.equal(obj.spec.template.spec.containers.length, 1, 'containers merged by name, not appended');
  t.equal(obj.spec.strategy.type, 'RollingUpdate', 'defaults applied');
  t.equal(obj.spec.template.spec.restartPolicy, 'Always');
  t.equal(obj.metadata.generation, 2);
  t.ok(obj.metadata.annotations['kubectl.kubernetes.io/last-applied-configuration']);

  t.match(await c.k('get', 'deployments'), /^NAME\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+AGE\nweb\s+0\/3\s+0\s+0\s+\d+s\n$/);
  t.match(
    await c.k('get', 'deploy', '-o', 'wide'),
    /CONTAINERS\s+IMAGES\s+SELECTOR\nweb\s+0\/3\s+0\s+0\s+\d+s\s+httpd\s+busybox:1\.37\s+app=web\n$/,
  );
  t.match(await c.k('describe', 'deployment', 'web'), /Name:\s+web[\s\S]*Replicas:\s+3 desired/);
  t.match(await c.k('get', 'all'), /deployment\.apps\/web/);
});

t.test('patch, scale, label, annotate and server-side apply', async (t) => {
  const c = await startCluster(t, API_ONLY);
  await c.k('apply', '-f', deployment);
  t.equal(await c.k('scale', 'deployment', 'web', '--replicas=5'), 'deployment.apps/web scaled\n');
  t.equal(await c.k('get', 'deploy', 'web', '-o', 'jsonpath={.spec.replicas}'), '5');
  t.equal(await c.k('label', 'deploy', 'web', 'tier=front'), 'deployment.apps/web labeled\n');
  t.equal(await c.k('annotate', 'deploy', 'web', 'note=hello'), 'deployment.apps/web annotated\n');
  t.equal(await c.k('patch', 'deploy', 'web', '--type=merge', '-p', '{"spec":{"minReadySeconds":5}}'), 'deployment.apps/web patched\n');
  t.equal(
    await c.k('patch', 'deploy', 'web', '--type=json', '-p', '[{"op":"replace","path":"/spec/replicas","value":1}]'),
    'deployment.apps/web patched\n',
  );
  await c.k('patch', 'deploy', 'web', '-p', '{"spec":{"template":{"spec":{"containers":[{"name":"sidecar","image":"busybox:1.36"}]}}}}');
  const obj = JSON.parse(await c.k('get', 'deploy', 'web', '-o', 'json'));
  t.same(
    obj.spec.template.spec.containers.map((x: { name: string }) => x.name).sort(),
    ['httpd', 'sidecar'],
    'strategic merge adds by name',
  );
  t.equal(obj.spec.replicas, 1);
  t.equal(obj.spec.minReadySeconds, 5);
  t.equal(obj.metadata.labels.tier, 'front');
  t.equal(obj.metadata.annotations.note, 'hello');
  const failed = await c.kubectl(['patch', 'deploy', 'web', '--type=json', '-p', '[{"op":"test","path":"/spec/replicas","value":9}]']);
  t.equal(failed.code, 1);

  // Server-side apply: field ownership, conflicts, force.
  const cm = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: owned\ndata:\n  a: "1"\n';
  t.equal((await c.kubectl(['apply', '--server-side', '-f', '-'], { input: cm })).stdout, 'configmap/owned serverside-applied\n');
  const managed = JSON.parse(await c.k('get', 'cm', 'owned', '-o', 'json', '--show-managed-fields')).metadata.managedFields;
  t.match(managed, [{ manager: 'kubectl', operation: 'Apply', fieldsType: 'FieldsV1', fieldsV1: { 'f:data': { 'f:a': {} } } }]);
  const other = await c.kubectl(['apply', '--server-side', '--field-manager', 'other', '-f', '-'], { input: cm.replace('"1"', '"2"') });
  t.equal(other.code, 1);
  t.match(other.stderr, /conflict with "kubectl"[\s\S]*\.data\.a/);
  await c.kubectl(['apply', '--server-side', '--force-conflicts', '--field-manager', 'other', '-f', '-'], {
    input: cm.replace('"1"', '"2"'),
  });
  t.equal(await c.k('get', 'cm', 'owned', '-o', 'jsonpath={.data.a}'), '2');

  // A Service applied client-side (protocol defaulted to TCP), then server-side from the same file.
  const svc =
    'apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n' +
    'spec:\n  selector:\n    app: web\n  ports:\n  - port: 80\n    targetPort: http\n';
  await c.kubectl(['apply', '-f', '-'], { input: svc });
  const moved = await c.kubectl(['apply', '--server-side', '--force-conflicts', '-f', '-'], { input: svc });
  t.equal(
    moved.stdout + moved.stderr,
    'service/web serverside-applied\n',
    'the port the file leaves protocol out of is the stored TCP port',
  );
  t.same(JSON.parse(await c.k('get', 'svc', 'web', '-o', 'jsonpath={.spec.ports}')), [{ port: 80, protocol: 'TCP', targetPort: 'http' }]);
});

t.test('dry runs store nothing; bad input is refused in Kubernetes words', async (t) => {
  const c = await startCluster(t, API_ONLY);
  t.equal(
    await c.k('create', 'configmap', 'ghost', '--from-literal=a=1', '--dry-run=server'),
    'configmap/ghost created (server dry run)\n',
  );
  t.match((await c.kubectl(['get', 'cm', 'ghost'])).stderr, /NotFound/);

  const badName = await c.kubectl(['create', 'configmap', 'Bad_Name']);
  t.equal(badName.code, 1);
  t.match(badName.stderr, /ConfigMap "Bad_Name" is invalid: metadata\.name: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain/);
  const unknownField = await c.kubectl(['apply', '-f', '-'], {
    input: 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndatta:\n  a: "1"\n',
  });
  t.equal(unknownField.code, 1);
  t.match(unknownField.stderr, /unknown field "datta"/);
  const noContainers = await c.kubectl(['apply', '-f', '-'], {
    input: 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers: []\n',
  });
  t.match(noContainers.stderr, /spec\.containers: Required value/);
  const noNs = await c.kubectl(['-n', 'missing', 'create', 'configmap', 'x']);
  t.match(noNs.stderr, /namespaces "missing" not found/);
  const stale = await c.kubectl(['get', '--raw', '/api/v1/namespaces/default/configmaps?watch=1&resourceVersion=abc']);
  t.equal(stale.code, 1);
});

t.test('explain and custom resources', async (t) => {
  const c = await startCluster(t, API_ONLY);
  t.match(await c.k('explain', 'deployment.spec.replicas'), /FIELD: replicas <integer>[\s\S]*Number of desired pods/);
  t.match(await c.k('explain', 'pods'), /KIND:\s+Pod[\s\S]*VERSION:\s+v1/);

  t.equal(
    await c.k('apply', '-f', 'test/e2e/fixtures/crd.yaml'),
    'customresourcedefinition.apiextensions.k8s.io/boats.skiff.example.com created\n',
  );
  await c.k('wait', '--for=condition=Established', 'crd/boats.skiff.example.com', '--timeout=30s');
  t.equal(await c.k('apply', '-f', 'test/e2e/fixtures/boat.yaml'), 'boat.skiff.example.com/dinghy created\n');
  t.match(await c.k('get', 'bt'), /^NAME\s+LENGTH\s+SAIL\ndinghy\s+4\s+red\n$/);
  t.same(
    JSON.parse(await c.k('get', 'boat', 'dinghy', '-o', 'jsonpath={.spec.rigging}')),
    { sheets: ['jib', 'main'], cleats: 4 },
    'fields under x-kubernetes-preserve-unknown-fields are kept',
  );
  t.equal(await c.k('get', 'boat', 'dinghy', '-o', 'jsonpath={.spec.mast}'), 'tall');
  t.equal(await c.k('scale', 'boat', 'dinghy', '--replicas=3'), 'boat.skiff.example.com/dinghy scaled\n');
  t.equal(await c.k('get', 'boat', 'dinghy', '-o', 'jsonpath={.spec.crew}'), '3');
  const invalid = await c.kubectl(['apply', '-f', '-'], {
    input: 'apiVersion: skiff.example.com/v1\nkind: Boat\nmetadata:\n  name: raft\nspec:\n  length: 0\n',
  });
  t.match(invalid.stderr, /spec\.length: Invalid value: 0: spec\.length in body should be greater than or equal to 1/);
  await c.k('delete', 'crd', 'boats.skiff.example.com');
  // kubectl may still have the kind in its discovery cache: either answer means it is gone.
  t.match(
    (await c.kubectl(['get', 'boats'])).stderr,
    /the server doesn't have a resource type "boats"|the server could not find the requested resource/,
  );
});
