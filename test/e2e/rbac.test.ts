// RBAC end to end through the real kubectl: users with client certificates of the cluster's CA, a
// service account's token, impersonation with --as, escalation refused and then allowed with escalate
// and bind, auth can-i (--list) and whoami, anonymous requests, and the controllers at work under
// identities of their own.
import https from 'node:https';
import path from 'node:path';
import t from 'tap';
import { ensureClusterPki, issueClientCertificate, type ClusterPki } from '../../src/pki/cluster-pki.js';
import { writeKubeconfig } from '../../src/pki/kubeconfig.js';
import { startCluster, type Cluster, type KubectlResult } from '../helpers/cluster.js';
import { eventually } from '../helpers/eventually.js';
import { startHollowNodes } from '../helpers/hollow.js';

/** A kubeconfig for a user with a client certificate (CN = user, O = groups), or a bearer token. */
async function kubeconfigFor(c: Cluster, pki: ClusterPki, name: string, auth: { groups?: string[]; token?: string }): Promise<string> {
  const file = path.join(c.dataDir, '..', `${name.replace(/\W/g, '-')}.yaml`);
  const cert = auth.token ? {} : await issueClientCertificate(pki, name, auth.groups ?? []);
  writeKubeconfig(file, 0o600, { server: c.url, caPem: pki.serverCa.certPem, ...cert, token: auth.token });
  return file;
}

/** kubectl as the kubeconfig's user (a later --kubeconfig wins over the admin one). */
const kubectlAs = (c: Cluster, kubeconfig: string, ...args: string[]): Promise<KubectlResult> =>
  c.kubectl(['--kubeconfig', kubeconfig, ...args]);

/** A GET without any credentials, trusting the server's CA. */
function anonymousGet(c: Cluster, pki: ClusterPki, urlPath: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    https
      .get(`${c.url}${urlPath}`, { ca: pki.serverCa.certPem }, (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      })
      .on('error', reject);
  });
}

t.test('RBAC through kubectl', async (t) => {
  const c = await startCluster(t);
  const pki = await ensureClusterPki(c.dataDir, { sans: [] });
  const alice = await kubeconfigFor(c, pki, 'alice', { groups: ['devs'] });
  const canI = async (kubeconfig: string, ...args: string[]) => (await kubectlAs(c, kubeconfig, 'auth', 'can-i', ...args)).stdout.trim();

  await t.test('a user with a client certificate: refused, then allowed by a binding', async (t) => {
    const refused = await kubectlAs(c, alice, 'get', 'pods');
    t.equal(refused.code, 1);
    t.match(
      refused.stderr,
      'Error from server (Forbidden): pods is forbidden: ' +
        'User "alice" cannot list resource "pods" in API group "" in the namespace "default"',
    );
    t.equal(await canI(alice, 'list', 'pods'), 'no');
    t.match((await kubectlAs(c, alice, 'auth', 'whoami')).stdout, /Username\s+alice\s+Groups\s+\[devs system:authenticated\]/);

    t.equal(
      await c.k('create', 'rolebinding', 'devs-edit', '--clusterrole=edit', '--group=devs', '-n', 'default'),
      'rolebinding.rbac.authorization.k8s.io/devs-edit created\n',
    );
    await eventually(async () => (await canI(alice, 'create', 'deployments')) === 'yes', { what: 'edit in default' });
    t.equal((await kubectlAs(c, alice, 'create', 'configmap', 'mine', '--from-literal=a=1')).code, 0, 'writes in default');
    t.equal(await canI(alice, 'list', 'pods', '-n', 'kube-system'), 'no', 'nothing in kube-system');
    t.equal(await canI(alice, 'create', 'roles'), 'no', 'edit grants no roles');
    t.equal(await canI(alice, 'get', 'nodes'), 'no');
    const list = (await kubectlAs(c, alice, 'auth', 'can-i', '--list')).stdout;
    t.match(list, /^deployments\.apps\s+\[\]\s+\[\]\s+\[create delete deletecollection patch update get list watch\]$/m);
    t.match(list, /^selfsubjectaccessreviews\.authorization\.k8s\.io\s+\[\]\s+\[\]\s+\[create\]$/m);
    t.notMatch(list, /^roles\.rbac/m);
    t.match(await c.k('auth', 'can-i', '--list'), /^\*\.\*\s+\[\]\s+\[\]\s+\[\*\]$/m, 'the admin may do everything');
  });

  await t.test('escalation: nobody grants what they do not hold, unless allowed to escalate or bind', async (t) => {
    await c.k('create', 'namespace', 'team');
    await c.k('create', 'rolebinding', 'alice-admin', '--clusterrole=admin', '--user=alice', '-n', 'team');
    await eventually(async () => (await canI(alice, 'create', 'roles', '-n', 'team')) === 'yes', { what: 'admin in team' });
    t.equal((await kubectlAs(c, alice, 'create', 'role', 'pod-reader', '--verb=get,list', '--resource=pods', '-n', 'team')).code, 0);
    const role = await kubectlAs(c, alice, 'create', 'role', 'node-reader', '--verb=get', '--resource=nodes', '-n', 'team');
    t.equal(role.code, 1);
    t.match(
      role.stderr,
      'roles.rbac.authorization.k8s.io "node-reader" is forbidden: user "alice" (groups=["devs" "system:authenticated"]) ' +
        'is attempting to grant RBAC permissions not currently held:\n{APIGroups:[""], Resources:["nodes"], Verbs:["get"]}',
    );
    const bind = await kubectlAs(c, alice, 'create', 'rolebinding', 'bob-admin', '--clusterrole=cluster-admin', '--user=bob', '-n', 'team');
    t.equal(bind.code, 1);
    t.match(
      bind.stderr,
      /"bob-admin" is forbidden: user "alice" .* not currently held:\n\{APIGroups:\["\*"\], Resources:\["\*"\], Verbs:\["\*"\]\}/,
    );
    t.equal(
      (await kubectlAs(c, alice, 'create', 'rolebinding', 'bob-view', '--clusterrole=view', '--user=bob', '-n', 'team')).code,
      0,
      'a role she holds',
    );

    // The admin lets her escalate roles and bind cluster-admin, in team.
    await c.k('create', 'role', 'granter', '--verb=escalate', '--resource=roles.rbac.authorization.k8s.io', '-n', 'team');
    await c.k('create', 'rolebinding', 'alice-granter', '--role=granter', '--user=alice', '-n', 'team');
    await c.k(
      'create',
      'clusterrole',
      'bind-admin',
      '--verb=bind',
      '--resource=clusterroles.rbac.authorization.k8s.io',
      '--resource-name=cluster-admin',
    );
    await c.k('create', 'rolebinding', 'alice-bind-admin', '--clusterrole=bind-admin', '--user=alice', '-n', 'team');
    await eventually(async () => (await canI(alice, 'bind', 'clusterroles/cluster-admin', '-n', 'team')) === 'yes', { what: 'bind' });
    await eventually(async () => (await canI(alice, 'escalate', 'roles', '-n', 'team')) === 'yes', { what: 'escalate' });
    t.equal(
      (await kubectlAs(c, alice, 'create', 'role', 'node-reader', '--verb=get', '--resource=nodes', '-n', 'team')).code,
      0,
      'escalate',
    );
    t.equal(
      (await kubectlAs(c, alice, 'create', 'rolebinding', 'bob-admin', '--clusterrole=cluster-admin', '--user=bob', '-n', 'team')).code,
      0,
      'bind',
    );
    const cluster = await kubectlAs(c, alice, 'create', 'clusterrolebinding', 'bob-root', '--clusterrole=cluster-admin', '--user=bob');
    t.match(
      cluster.stderr,
      /User "alice" cannot create resource "clusterrolebindings" in API group "rbac.authorization.k8s.io" at the cluster scope/,
    );
  });

  await t.test('a service account token can do what its Role allows and nothing else', async (t) => {
    await c.k('create', 'serviceaccount', 'robot', '-n', 'team');
    await c.k('create', 'role', 'cm-reader', '--verb=get,list', '--resource=configmaps', '-n', 'team');
    await c.k('create', 'rolebinding', 'robot-cm', '--role=cm-reader', '--serviceaccount=team:robot', '-n', 'team');
    await c.k('create', 'configmap', 'settings', '--from-literal=k=v', '-n', 'team');
    const token = (await c.k('create', 'token', 'robot', '-n', 'team')).trim();
    const robot = await kubeconfigFor(c, pki, 'robot', { token });
    const got = await eventually(
      async () => {
        const r = await kubectlAs(c, robot, 'get', 'configmap', 'settings', '-n', 'team', '-o', 'jsonpath={.data.k}');
        return r.code === 0 ? r : undefined;
      },
      { what: 'the token reading its namespace' },
    );
    t.equal(got.stdout, 'v');
    const secrets = await kubectlAs(c, robot, 'get', 'secrets', '-n', 'team');
    t.match(
      secrets.stderr,
      'secrets is forbidden: User "system:serviceaccount:team:robot" ' +
        'cannot list resource "secrets" in API group "" in the namespace "team"',
    );
    const elsewhere = await kubectlAs(c, robot, 'get', 'configmaps', '-n', 'default');
    t.match(
      elsewhere.stderr,
      'configmaps is forbidden: User "system:serviceaccount:team:robot" ' +
        'cannot list resource "configmaps" in API group "" in the namespace "default"',
    );
    t.match((await kubectlAs(c, robot, 'auth', 'whoami')).stdout, /system:serviceaccount:team:robot[\s\S]*system:serviceaccounts:team/);
  });

  await t.test('impersonation with --as and --as-group needs the impersonate verb', async (t) => {
    const refused = await kubectlAs(c, alice, '--as', 'bob', 'get', 'pods');
    t.match(
      refused.stderr,
      'users "bob" is forbidden: User "alice" cannot impersonate resource "users" in API group "" at the cluster scope',
    );
    await c.k('create', 'clusterrole', 'impersonate-bob', '--verb=impersonate', '--resource=users', '--resource-name=bob');
    await c.k('create', 'clusterrole', 'impersonate-groups', '--verb=impersonate', '--resource=groups');
    await c.k('create', 'clusterrolebinding', 'alice-as-bob', '--clusterrole=impersonate-bob', '--user=alice');
    await c.k('create', 'clusterrolebinding', 'alice-as-groups', '--clusterrole=impersonate-groups', '--user=alice');
    const whoami = await eventually(
      async () => {
        const r = await kubectlAs(c, alice, '--as', 'bob', '--as-group', 'ops', 'auth', 'whoami');
        return r.code === 0 ? r.stdout : undefined;
      },
      { what: 'alice as bob' },
    );
    t.match(whoami, /Username\s+bob\s+Groups\s+\[ops system:authenticated\]/);
    const asCarol = await kubectlAs(c, alice, '--as', 'carol', 'get', 'pods');
    t.match(
      asCarol.stderr,
      'users "carol" is forbidden: User "alice" cannot impersonate resource "users" in API group "" at the cluster scope',
    );
    // bob may view team (bob-view above), so alice, as bob, may too, and no more.
    t.equal(await canI(alice, '--as', 'bob', 'list', 'pods', '-n', 'team'), 'yes');
    t.equal(await canI(alice, '--as', 'bob', 'list', 'pods', '-n', 'default'), 'no');
    // The admin sees what alice may do.
    t.equal((await c.kubectl(['auth', 'can-i', 'create', 'roles', '-n', 'team', '--as', 'alice'])).stdout.trim(), 'yes');
    t.equal((await c.kubectl(['auth', 'can-i', 'create', 'roles', '-n', 'default', '--as', 'alice'])).stdout.trim(), 'no');
  });

  await t.test('anonymous requests: health and version answered, everything else 401', async (t) => {
    for (const p of ['/healthz', '/livez', '/readyz']) t.same(await anonymousGet(c, pki, p), { status: 200, body: 'ok' }, p);
    const version = await anonymousGet(c, pki, '/version');
    t.equal(version.status, 200);
    t.match(JSON.parse(version.body), { major: '1', minor: '32' });
    t.equal((await anonymousGet(c, pki, '/cacerts')).status, 200, 'the CA for joining agents');
    for (const p of ['/api', '/apis', '/api/v1/namespaces/default/pods', '/api/v1/namespaces/team/secrets', '/openapi/v2']) {
      const r = await anonymousGet(c, pki, p);
      t.equal(r.status, 401, p);
      t.match(JSON.parse(r.body), { kind: 'Status', reason: 'Unauthorized', code: 401 });
    }
  });

  await t.test('the controllers and the scheduler work under identities of their own', async (t) => {
    await startHollowNodes(t, c, ['n1']);
    const accounts = await c.k('get', 'serviceaccounts', '-n', 'kube-system', '-o', 'name');
    for (const name of [
      'deployment-controller',
      'replicaset-controller',
      'endpoint-controller',
      'generic-garbage-collector',
      'service-lb-controller',
    ])
      t.match(accounts, `serviceaccount/${name}\n`);
    const sa = (name: string) => `system:serviceaccount:kube-system:${name}`;
    const asAdmin = async (...args: string[]) => (await c.kubectl(['auth', 'can-i', ...args])).stdout.trim();
    t.equal(await asAdmin('create', 'replicasets.apps', '--as', sa('deployment-controller')), 'yes');
    t.equal(await asAdmin('create', 'pods', '--as', sa('deployment-controller')), 'no', "least privilege: pods are the ReplicaSets'");
    t.equal(await asAdmin('get', 'secrets', '--as', sa('deployment-controller')), 'no');
    t.equal(await asAdmin('create', 'pods', '--as', sa('replicaset-controller')), 'yes');
    t.equal(await asAdmin('create', 'pods', '--subresource=binding', '--as', 'system:kube-scheduler'), 'yes');
    t.equal(await asAdmin('delete', 'nodes', '--as', 'system:kube-scheduler'), 'no');

    await c.k('create', 'deployment', 'web', '--image=busybox', '--replicas=2');
    await c.k('expose', 'deployment', 'web', '--port=80', '--type=LoadBalancer');
    t.match(await c.k('rollout', 'status', 'deployment/web', '--timeout=60s'), /successfully rolled out/);
    await eventually(async () => (await c.k('get', 'service', 'web', '-o', 'jsonpath={.status.loadBalancer.ingress[0].ip}')).length > 0, {
      what: 'the LoadBalancer served by service-lb-controller',
    });
    await eventually(
      async () => (await c.k('get', 'endpoints', 'web', '-o', 'jsonpath={.subsets[0].addresses[*].ip}')).split(' ').length === 2,
      {
        what: 'endpoints by endpoint-controller',
      },
    );

    // Without its binding the deployment controller is refused, as its own user; with it back, it goes on.
    await c.k('delete', 'clusterrolebinding', 'system:controller:deployment-controller');
    await c.k('create', 'deployment', 'api', '--image=busybox');
    await eventually(
      () =>
        c.log().includes(
          // As the server's JSON log line has it.
          'replicasets.apps is forbidden: User \\"system:serviceaccount:kube-system:deployment-controller\\" ' +
            'cannot create resource \\"replicasets\\"',
        ),
      { what: 'the deployment controller refused as itself' },
    );
    t.equal(await c.k('get', 'replicasets', '-l', 'app=api', '-o', 'name'), '', 'no ReplicaSet without its role');
    await c.k(
      'create',
      'clusterrolebinding',
      'system:controller:deployment-controller',
      '--clusterrole=system:controller:deployment-controller',
      '--serviceaccount=kube-system:deployment-controller',
    );
    await c.k('annotate', 'deployment', 'api', 'nudge=1');
    t.match(await c.k('rollout', 'status', 'deployment/api', '--timeout=60s'), /successfully rolled out/);

    // The garbage collector deletes the dependents of a deleted owner, as itself.
    await c.k('delete', 'deployment', 'web', '--cascade=background');
    await eventually(async () => (await c.k('get', 'pods', '-l', 'app=web', '-o', 'name')) === '', { what: 'the pods collected' });
  });
});
