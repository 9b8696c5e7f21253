// Bad input against a real `skiff server`: through the real kubectl (raw bodies, bad names, label
// values, strict field validation, bad query values) and raw HTTPS, whose request targets no client
// library would send (`..` and `%2e%2e` segments, invalid escapes, oversized and garbage bodies).
// Each gets a Status with the right code, the server keeps serving and nothing refused is stored.
import fs from 'node:fs';
import https from 'node:https';
import t from 'tap';
import YAML from 'yaml';
import { API_ONLY, startCluster, type Cluster } from '../helpers/cluster.js';

interface Raw {
  status: number;
  body: any;
}

/** An HTTPS request with the admin's client certificate and the path exactly as given. */
function rawRequest(c: Cluster, kubeconfig: any, method: string, path: string, body?: Buffer, type = 'application/json'): Promise<Raw> {
  const user = kubeconfig.users[0].user;
  const b64 = (s: string) => Buffer.from(s, 'base64');
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        host: '127.0.0.1',
        port: c.port,
        method,
        path,
        ca: b64(kubeconfig.clusters[0].cluster['certificate-authority-data']),
        cert: b64(user['client-certificate-data']),
        key: b64(user['client-key-data']),
        headers: { 'content-type': type, ...(body ? { 'content-length': body.length } : {}) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (d: Buffer) => chunks.push(d));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString();
          try {
            resolve({ status: res.statusCode!, body: JSON.parse(text) });
          } catch {
            resolve({ status: res.statusCode!, body: text });
          }
        });
      },
    );
    // A server that refuses a body early may close before it is all written: the answer still counts.
    req.on('error', reject);
    req.end(body);
  });
}

t.test('bad input through kubectl and raw HTTPS: a Status each time, and the server goes on', async (t) => {
  const c = await startCluster(t, API_ONLY);
  const kubeconfig = YAML.parse(fs.readFileSync(c.kubeconfig, 'utf8'));
  await c.k('create', 'configmap', 'keep', '--from-literal=a=1');

  // kubectl: raw bodies and query values, as the server answers them.
  const refused = async (args: string[], message: RegExp, input?: string) => {
    const r = await c.kubectl(args, input === undefined ? {} : { input });
    t.not(r.code, 0, `kubectl ${args.join(' ')} fails`);
    t.match(r.stderr, message, `kubectl ${args.join(' ')}: ${r.stderr.trim().slice(0, 200)}`);
  };
  await refused(['create', '--raw', '/api/v1/namespaces/default/configmaps', '-f', '-'], /BadRequest|not valid JSON/, '{"kind": ');
  await refused(['get', '--raw', '/api/v1/namespaces/default/configmaps?limit=abc'], /invalid limit "abc"/);
  await refused(['get', '--raw', '/api/v1/namespaces/default/configmaps?timeoutSeconds=x'], /invalid timeoutSeconds "x"/);
  await refused(['get', '--raw', '/api/v1/namespaces/default/configmaps?watch=maybe'], /query parameter watch: "maybe"/);
  await refused(
    ['create', 'configmap', 'A_B', '--from-literal=a=1'],
    /ConfigMap "A_B" is invalid: metadata\.name: Invalid value: "A_B": a lowercase RFC 1123 subdomain must consist of/,
  );
  await refused(
    ['create', '-f', '-'],
    /ConfigMap "labelled" is invalid: metadata\.labels: Invalid value: "bad value!"/,
    'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: labelled\n  labels:\n    app: "bad value!"\n',
  );
  const deployment = [
    'apiVersion: apps/v1',
    'kind: Deployment',
    'metadata: {name: strict}',
    'spec:',
    '  foo: 1',
    '  selector: {matchLabels: {app: s}}',
    '  template:',
    '    metadata: {labels: {app: s}}',
    '    spec: {containers: [{name: c, image: i}]}',
    '',
  ].join('\n');
  await refused(['create', '--validate=strict', '-f', '-'], /strict decoding error: unknown field "spec\.foo"/, deployment);
  // kubectl's own typed decoding stops a mistyped ConfigMap; --raw sends it as it is.
  await refused(
    ['create', '--raw', '/api/v1/namespaces/default/configmaps', '-f', '-'],
    /cannot be handled as a ConfigMap: json: cannot unmarshal number into Go struct field ObjectMeta\.metadata\.labels of type string/,
    '{"metadata": {"name": "typed", "labels": {"app": 5}}}',
  );

  // Raw HTTPS: what reaches the server exactly as written.
  const cms = '/api/v1/namespaces/default/configmaps';
  const expectStatus = (r: Raw, code: number, reason: string, message: RegExp, what: string) =>
    t.match(r, { status: code, body: { kind: 'Status', apiVersion: 'v1', status: 'Failure', code, reason, message } }, what);
  const raw = (method: string, path: string, body?: string | Buffer, type?: string) =>
    rawRequest(c, kubeconfig, method, path, typeof body === 'string' ? Buffer.from(body) : body, type);
  for (const path of [`${cms}/..`, `${cms}/%2e%2e`, `${cms}/%2E%2E/%2e%2e/secrets`, `${cms}/./keep`]) {
    expectStatus(await raw('DELETE', path), 400, 'BadRequest', /^Name parameter invalid: "\.\.?": may not be '\.\.?'$/, `DELETE ${path}`);
  }
  expectStatus(await raw('GET', '/api/v1/namespaces/%2e%2e/configmaps'), 400, 'BadRequest', /may not be '\.\.'/, 'a namespace of ..');
  expectStatus(await raw('GET', `${cms}/..%2fsecrets`), 400, 'BadRequest', /may not contain '\/'/, 'an encoded slash');
  expectStatus(await raw('GET', `${cms}/%ff`), 400, 'BadRequest', /invalid URL escape/, 'an invalid escape');
  expectStatus(await raw('POST', cms, '{"metadata": '), 400, 'BadRequest', /not valid JSON/, 'malformed JSON');
  expectStatus(await raw('POST', cms, 'metadata: {name: [', 'application/yaml'), 400, 'BadRequest', /not valid YAML/, 'malformed YAML');
  expectStatus(
    await raw('POST', cms, Buffer.from([0x6b, 0x38, 0x73, 0, 0xff, 0xff]), 'application/vnd.kubernetes.protobuf'),
    400,
    'BadRequest',
    /protobuf body/,
    'garbage protobuf',
  );
  expectStatus(await raw('POST', cms, '<configmap/>', 'application/xml'), 415, 'UnsupportedMediaType', /unknown format/, 'XML');
  const big = JSON.stringify({ metadata: { name: 'big' }, data: { a: 'x'.repeat(4 * 1024 * 1024) } });
  expectStatus(await raw('POST', cms, big), 413, 'RequestEntityTooLarge', /larger than the limit/, 'a 4 MiB body');

  t.equal(await c.k('get', 'namespace', 'default', '-o', 'jsonpath={.status.phase}'), 'Active', 'the namespace was not deleted');
  t.equal(await c.k('get', 'configmap', 'keep', '-o', 'jsonpath={.data.a}'), '1', 'the server still serves, its object intact');
  const names = (await c.k('get', 'configmaps', '-o', 'jsonpath={.items[*].metadata.name}')).split(' ').sort();
  t.same(
    names.filter((n) => n !== 'kube-root-ca.crt'),
    ['keep'],
    'nothing refused was stored',
  );
  t.equal((await c.kubectl(['get', 'deployments'])).code, 0);
  t.notOk(c.log().includes('"level":50'), 'no request failed inside the server');
});
