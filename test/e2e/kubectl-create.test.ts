// kubectl's typed `create` commands send protobuf bodies: every generator must arrive intact. Each
// object the server stored is compared with what kubectl renders client-side for the same command.
import t from 'tap';
import { API_ONLY, startCluster, type Cluster } from '../helpers/cluster.js';

const commands: [string, string[]][] = [
  ['deployment/web', ['create', 'deployment', 'web', '--image=busybox:1.36', '--replicas=0', '--port=8080']],
  ['configmap/conf', ['create', 'configmap', 'conf', '--from-literal=a=1', '--from-literal=b=two']],
  ['secret/creds', ['create', 'secret', 'generic', 'creds', '--from-literal=user=admin', '--from-literal=pass=s3cr3t']],
  [
    'secret/pull',
    ['create', 'secret', 'docker-registry', 'pull', '--docker-server=registry.local', '--docker-username=u', '--docker-password=p'],
  ],
  ['service/front', ['create', 'service', 'clusterip', 'front', '--tcp=80:8080']],
  ['service/edge', ['create', 'service', 'nodeport', 'edge', '--tcp=443:8443']],
  ['service/outside', ['create', 'service', 'externalname', 'outside', '--external-name=example.com']],
  ['cronjob/tick', ['create', 'cronjob', 'tick', '--image=busybox:1.36', '--schedule=*/5 * * * *', '--', 'date']],
  ['job/once', ['create', 'job', 'once', '--image=busybox:1.36', '--', 'echo', 'hi']],
  ['role/reader', ['create', 'role', 'reader', '--verb=get,list', '--resource=pods']],
  ['rolebinding/read', ['create', 'rolebinding', 'read', '--role=reader', '--user=alice', '--serviceaccount=default:robot']],
  ['clusterrole/nodes', ['create', 'clusterrole', 'nodes', '--verb=get', '--resource=nodes']],
  ['clusterrolebinding/nodes', ['create', 'clusterrolebinding', 'nodes', '--clusterrole=nodes', '--group=ops']],
  ['ingress/site', ['create', 'ingress', 'site', '--rule=example.com/=front:80']],
  ['poddisruptionbudget/keep', ['create', 'poddisruptionbudget', 'keep', '--selector=app=web', '--min-available=0']],
  ['priorityclass/high', ['create', 'priorityclass', 'high', '--value=1000', '--description=important']],
  ['resourcequota/small', ['create', 'quota', 'small', '--hard=pods=10,cpu=2']],
];

/** What both sides agree on: no server-set fields, no defaults the server adds. */
function comparable(obj: Record<string, any>, rendered: Record<string, any>): unknown {
  const pick = (src: any, shape: any): any => {
    if (Array.isArray(shape)) return shape.map((s, i) => pick(src?.[i], s));
    if (shape && typeof shape === 'object')
      return Object.fromEntries(
        Object.keys(shape)
          .filter((k) => shape[k] !== null && !(k === 'status' && Object.keys(shape[k]).length === 0))
          .map((k) => [k, pick(src?.[k], shape[k])]),
      );
    return src;
  };
  const { metadata, ...rest } = rendered;
  return pick(obj, { ...rest, metadata: { name: metadata.name, labels: metadata.labels, annotations: metadata.annotations } });
}

async function created(c: Cluster, name: string) {
  return JSON.parse(await c.k('get', name, '-o', 'json'));
}

t.test('every kubectl create generator arrives as kubectl rendered it', async (t) => {
  const c = await startCluster(t, API_ONLY);
  await c.k('create', 'serviceaccount', 'robot');
  for (const [name, args] of commands) {
    const dash = args.includes('--') ? args.indexOf('--') : args.length;
    const rendered = JSON.parse(await c.k(...args.slice(0, dash), '--dry-run=client', '-o', 'json', ...args.slice(dash)));
    const out = await c.kubectl(args);
    t.equal(out.code, 0, `${args.join(' ')}: ${out.stderr}`);
    const stored = await created(c, name);
    t.same(comparable(stored, rendered), comparable(rendered, rendered), `${name} as rendered`);
  }
  t.equal((await created(c, 'deployment/web')).spec.replicas, 0, 'an explicit zero survives protobuf');
  t.equal(Buffer.from((await created(c, 'secret/creds')).data.pass, 'base64').toString(), 's3cr3t');

  // --from=cronjob copies the whole job template, pod spec and all.
  t.equal(await c.k('create', 'job', 'manual', '--from=cronjob/tick'), 'job.batch/manual created\n');
  const job = await created(c, 'job/manual');
  t.same(job.spec.template.spec.containers[0].command, ['date']);
  t.equal(job.metadata.annotations['cronjob.kubernetes.io/instantiate'], 'manual');
  t.equal(job.metadata.ownerReferences[0].kind, 'CronJob');
});
