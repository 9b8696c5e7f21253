// Bad input through the in-process API: malformed JSON, YAML and protobuf bodies, wrong content
// types, oversized bodies, invalid names and label values, mistyped and unknown fields, bad query
// values and path traversal. Each is a Status in upstream's terms, the server keeps serving and
// nothing of a refused request is stored.
import t, { type Test } from 'tap';
import { badRequestPath } from '../../src/apiserver/app.js';
import { admin, apiHarness, type Harness } from './harness.js';
import { envelope } from '../helpers/protobuf.js';

const CMS = '/api/v1/namespaces/default/configmaps';
const JSON_TYPE = { 'content-type': 'application/json' };
const YAML_TYPE = { 'content-type': 'application/yaml' };
const PROTOBUF_TYPE = { 'content-type': 'application/vnd.kubernetes.protobuf' };

const cm = (name: string, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, data: { a: '1' }, ...extra });

/** A well-formed failure Status with this code and reason, whose message matches. */
async function expectStatus(t: Test, res: Response, code: number, reason: string, message: RegExp | string, what: string) {
  const text = await res.text();
  let body: any;
  try {
    body = JSON.parse(text);
  } catch {
    t.fail(`${what}: not JSON: ${text.slice(0, 200)}`);
    return undefined;
  }
  t.equal(res.status, code, `${what}: HTTP ${code}`);
  t.match(res.headers.get('content-type') ?? '', /^application\/json/, `${what}: JSON`);
  t.match(body, { kind: 'Status', apiVersion: 'v1', status: 'Failure', code, reason, message }, what);
  return body;
}

/** The server still answers, and holds only the ConfigMaps the test made on purpose. */
async function stillServing(t: Test, h: Harness, names: string[]) {
  t.equal((await h.raw('GET', '/healthz')).status, 200, 'healthz after the bad input');
  const list = await h.request('GET', CMS);
  t.equal(list.status, 200);
  t.same(list.body.items.map((i: any) => i.metadata.name).sort(), names, 'nothing of a refused request was stored');
}

t.test('malformed JSON, YAML and protobuf bodies are a 400 BadRequest', async (t) => {
  const h = await apiHarness(t);
  const cases: [string, BodyInit, Record<string, string>, RegExp][] = [
    ['truncated JSON', '{"kind": ', JSON_TYPE, /^the request body is not valid JSON: /],
    ['JSON with a trailing comma', '{"metadata": {"name": "a"},}', JSON_TYPE, /not valid JSON/],
    ['a JSON array', '[{"metadata": {"name": "a"}}]', JSON_TYPE, /must be a JSON object/],
    ['a JSON string', '"configmap"', JSON_TYPE, /must be a JSON object/],
    ['JSON null', 'null', JSON_TYPE, /must be a JSON object/],
    ['an empty body', '', JSON_TYPE, /the request body is empty/],
    ['binary junk as JSON', new Uint8Array([0xff, 0xfe, 0x00, 0x7b]), JSON_TYPE, /not valid JSON/],
    ['unclosed YAML flow', 'metadata: {name: [a', YAML_TYPE, /^the request body is not valid YAML: /],
    ['YAML nested in a compact mapping', 'a: b: c', YAML_TYPE, /not valid YAML/],
    ['a YAML list', '- a\n- b\n', YAML_TYPE, /must be a JSON object/],
    ['two YAML documents', 'metadata: {name: a}\n---\nmetadata: {name: b}\n', YAML_TYPE, /not valid YAML/],
    ['a YAML alias bomb', aliasBomb(), YAML_TYPE, /not valid YAML: Excessive alias count/],
    ['protobuf without the magic number', new Uint8Array([1, 2, 3, 4, 5]), PROTOBUF_TYPE, /magic number/],
    [
      'a truncated protobuf envelope',
      new Uint8Array([0x6b, 0x38, 0x73, 0, 0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f]),
      PROTOBUF_TYPE,
      /runtime\.Unknown/,
    ],
    ['a protobuf envelope without a kind', Buffer.from('k8s\0', 'latin1'), PROTOBUF_TYPE, /does not name its apiVersion and kind/],
    ['a protobuf ConfigMap of junk', envelope('v1', 'ConfigMap', new Uint8Array([0x0a, 0x05, 0x01])), PROTOBUF_TYPE, /malformed/],
    ['JSON nested 2000 deep', `{"metadata":{"name":"deep"},"x":${'['.repeat(2000)}${']'.repeat(2000)}}`, JSON_TYPE, /nested too deeply/],
  ];
  for (const [what, body, headers, message] of cases) {
    await expectStatus(t, await h.raw('POST', CMS, body, headers), 400, 'BadRequest', message, what);
  }
  // The same through PUT and PATCH, on an object that exists and must stay as it was.
  t.equal((await h.raw('POST', CMS, cm('keep'), JSON_TYPE)).status, 201);
  await expectStatus(t, await h.raw('PUT', `${CMS}/keep`, '{"metadata":', JSON_TYPE), 400, 'BadRequest', /not valid JSON/, 'PUT');
  const patches: [string, string, RegExp][] = [
    ['application/merge-patch+json', '{"data": ', /^the patch is not valid JSON/],
    ['application/merge-patch+json', '[1, 2]', /a merge patch must be a JSON object/],
    ['application/strategic-merge-patch+json', '{"$patch": "delete"}', /unknown patch type: delete/],
    ['application/json-patch+json', '{"op": "add"}', /json patch must be a JSON array of operations/],
    ['application/json-patch+json', '[{"op": "frob", "path": "/data/a"}]', /invalid json patch/],
    ['application/apply-patch+yaml', 'data: {a: [1', /^the patch is not valid YAML/],
    // Recursion in the patch algorithms never meets a body deeper than the limit.
    ['application/merge-patch+json', `{"data":${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}}`, /nested too deeply/],
    ['application/strategic-merge-patch+json', `{"data":${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}}`, /nested too deeply/],
  ];
  for (const [type, body, message] of patches) {
    const url = `${CMS}/keep${type.startsWith('application/apply') ? '?fieldManager=t' : ''}`;
    await expectStatus(
      t,
      await h.raw('PATCH', url, body, { 'content-type': type }),
      400,
      'BadRequest',
      message,
      `${type} ${body.slice(0, 30)}`,
    );
  }
  const kept = await h.request('GET', `${CMS}/keep`);
  t.same(kept.body.data, { a: '1' }, 'the object was not changed by a refused write');
  await stillServing(t, h, ['keep']);
});

function aliasBomb(): string {
  const lines = ['a: &a ["x", "x", "x", "x", "x", "x", "x", "x", "x"]'];
  for (const [prev, next] of [
    ['a', 'b'],
    ['b', 'c'],
    ['c', 'd'],
    ['d', 'e'],
    ['e', 'f'],
    ['f', 'g'],
  ] as const) {
    lines.push(`${next}: &${next} [${Array(9).fill(`*${prev}`).join(', ')}]`);
  }
  return `${lines.join('\n')}\nmetadata: {name: bomb}\n`;
}

t.test('a content type the API does not read is a 415 UnsupportedMediaType', async (t) => {
  const h = await apiHarness(t);
  for (const type of ['text/html', 'application/x-www-form-urlencoded', 'application/xml', 'multipart/form-data; boundary=x']) {
    await expectStatus(
      t,
      await h.raw('POST', CMS, cm('x'), { 'content-type': type }),
      415,
      'UnsupportedMediaType',
      /^the body of the request was in an unknown format - accepted media types include: application\/json, application\/yaml/,
      `create as ${type}`,
    );
  }
  t.equal((await h.raw('POST', CMS, cm('x'), JSON_TYPE)).status, 201);
  for (const type of ['application/json', 'application/yaml', 'text/plain']) {
    await expectStatus(
      t,
      await h.raw('PATCH', `${CMS}/x`, '{"data": {"a": "2"}}', { 'content-type': type }),
      415,
      'UnsupportedMediaType',
      /accepted media types include: application\/json-patch\+json, application\/merge-patch\+json/,
      `patch as ${type}`,
    );
  }
  await stillServing(t, h, ['x']);
});

t.test('a body over 3 MiB is a 413 RequestEntityTooLarge, declared or streamed', async (t) => {
  const h = await apiHarness(t);
  const big = cm('big', { data: { a: 'x'.repeat(3 * 1024 * 1024) } });
  await expectStatus(
    t,
    await h.raw('POST', CMS, big, JSON_TYPE),
    413,
    'RequestEntityTooLarge',
    /larger than the limit of 3145728 bytes/,
    'create',
  );
  // Streamed without a length: counted as it arrives.
  const chunks = [new TextEncoder().encode(big)];
  const stream = new ReadableStream<Uint8Array>({ pull: (c) => (chunks.length ? c.enqueue(chunks.pop()!) : c.close()) });
  const streamed = await h.app.fetch(
    new Request(`https://skiff.test${CMS}`, { method: 'POST', body: stream, headers: JSON_TYPE, duplex: 'half' } as RequestInit),
    { user: admin },
  );
  await expectStatus(t, streamed, 413, 'RequestEntityTooLarge', /larger than the limit/, 'streamed create');
  // A declared length alone is refused before the body is read.
  const declared = await h.app.fetch(
    new Request(`https://skiff.test${CMS}`, { method: 'POST', body: '{}', headers: { ...JSON_TYPE, 'content-length': String(4 << 20) } }),
    { user: admin },
  );
  await expectStatus(t, declared, 413, 'RequestEntityTooLarge', /larger than the limit/, 'declared length');
  t.equal((await h.raw('POST', CMS, cm('small'), JSON_TYPE)).status, 201);
  await expectStatus(
    t,
    await h.raw('PATCH', `${CMS}/small`, JSON.stringify({ data: { b: 'y'.repeat(3 * 1024 * 1024) } }), {
      'content-type': 'application/merge-patch+json',
    }),
    413,
    'RequestEntityTooLarge',
    /larger than the limit/,
    'patch',
  );
  // Just under the limit is fine (the datastore takes objects of this size).
  const under = cm('under', { data: { a: 'x'.repeat(3 * 1024 * 1024 - 200) } });
  t.equal((await h.raw('POST', CMS, under, JSON_TYPE)).status, 201, 'a body just under the limit is taken');
  await stillServing(t, h, ['small', 'under']);
});

t.test('invalid names and label values are a 422 Invalid naming the field, in upstream words', async (t) => {
  const h = await apiHarness(t);
  const subdomain =
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with " +
    "an alphanumeric character (e.g. 'example.com', regex used for validation is " +
    "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
  const cases: [string, string, string, string, string][] = [
    ['../x', CMS, cm('../x'), 'metadata.name', `ConfigMap "../x" is invalid: metadata.name: Invalid value: "../x": ${subdomain}`],
    ['A_B', CMS, cm('A_B'), 'metadata.name', `ConfigMap "A_B" is invalid: metadata.name: Invalid value: "A_B": ${subdomain}`],
    ['a 254-character name', CMS, cm('a'.repeat(254)), 'metadata.name', 'must be no more than 253 characters'],
    [
      'a 64-character Service name',
      '/api/v1/namespaces/default/services',
      JSON.stringify({ metadata: { name: 's'.repeat(64) }, spec: { ports: [{ port: 80 }] } }),
      'metadata.name',
      'must be no more than 63 characters',
    ],
    [
      'a Namespace with a dot',
      '/api/v1/namespaces',
      JSON.stringify({ metadata: { name: 'a.b' } }),
      'metadata.name',
      'a lowercase RFC 1123 label must consist of lower case alphanumeric characters',
    ],
    [
      'a label value with a space',
      CMS,
      cm('x', { metadata: { name: 'x', labels: { app: 'bad value!' } } }),
      'metadata.labels',
      'metadata.labels: Invalid value: "bad value!": a valid label must be an empty string or consist of alphanumeric characters, ' +
        "'-', '_' or '.'",
    ],
    [
      'a 64-character label value',
      CMS,
      cm('x', { metadata: { name: 'x', labels: { app: 'v'.repeat(64) } } }),
      'metadata.labels',
      'must be no more than 63 characters',
    ],
    [
      'a label key with a space',
      CMS,
      cm('x', { metadata: { name: 'x', labels: { 'bad key': 'v' } } }),
      'metadata.labels',
      'name part must consist of',
    ],
    [
      'an annotation key with two slashes',
      CMS,
      cm('x', { metadata: { name: 'x', annotations: { 'a/b/c': 'v' } } }),
      'metadata.annotations',
      'a qualified name must consist of',
    ],
  ];
  for (const [what, url, body, field, message] of cases) {
    const status = await expectStatus(t, await h.raw('POST', url, body, JSON_TYPE), 422, 'Invalid', message, what);
    t.ok(
      status?.details?.causes?.some((c: any) => c.field === field),
      `${what}: a cause names ${field} (${JSON.stringify(status?.details?.causes)})`,
    );
  }
  await stillServing(t, h, []);
});

t.test('mistyped and unknown fields', async (t) => {
  const h = await apiHarness(t);
  const pods = '/api/v1/namespaces/default/pods';
  const typed: [string, string, string][] = [
    [
      CMS,
      JSON.stringify({ metadata: { name: 5 } }),
      'json: cannot unmarshal number into Go struct field ObjectMeta.metadata.name of type string',
    ],
    [
      CMS,
      JSON.stringify({ metadata: { name: 'x', labels: 'app' } }),
      'Go struct field ObjectMeta.metadata.labels of type map[string]string',
    ],
    [CMS, JSON.stringify({ metadata: { name: 'x' }, data: ['a'] }), 'Go struct field ConfigMap.data of type map[string]string'],
    [
      pods,
      JSON.stringify({ metadata: { name: 'p' }, spec: { containers: 'web' } }),
      'Pod in version "v1" cannot be handled as a Pod: json: cannot unmarshal string into Go struct field PodSpec.spec.containers ' +
        'of type []v1.Container',
    ],
    [
      '/apis/apps/v1/namespaces/default/deployments',
      JSON.stringify({ metadata: { name: 'd' }, spec: { replicas: 'three' } }),
      'Go struct field DeploymentSpec.spec.replicas of type int32',
    ],
    [pods, JSON.stringify({ metadata: { name: 'p', creationTimestamp: 'yesterday' } }), 'parsing time "yesterday"'],
    [
      '/apis/authentication.k8s.io/v1/tokenreviews',
      JSON.stringify({ spec: { token: 5 } }),
      'TokenReview in version "v1" cannot be handled as a TokenReview: json: cannot unmarshal number into Go struct field ' +
        'TokenReviewSpec.spec.token of type string',
    ],
    [
      '/apis/authorization.k8s.io/v1/subjectaccessreviews',
      JSON.stringify({ spec: { user: 'a', groups: 'b', resourceAttributes: { verb: 'get' } } }),
      'Go struct field SubjectAccessReviewSpec.spec.groups of type []string',
    ],
  ];
  for (const [url, body, message] of typed)
    await expectStatus(t, await h.raw('POST', url, body, JSON_TYPE), 400, 'BadRequest', message, body);

  const deployment = (spec: Record<string, unknown>) =>
    JSON.stringify({
      metadata: { name: 'd' },
      spec: {
        selector: { matchLabels: { app: 'd' } },
        template: { metadata: { labels: { app: 'd' } }, spec: { containers: [{ name: 'c', image: 'i' }] } },
        ...spec,
      },
    });
  const deployments = '/apis/apps/v1/namespaces/default/deployments';
  await expectStatus(
    t,
    await h.raw('POST', `${deployments}?fieldValidation=Strict`, deployment({ foo: 1 }), JSON_TYPE),
    400,
    'BadRequest',
    'strict decoding error: unknown field "spec.foo"',
    'Strict',
  );
  await expectStatus(
    t,
    await h.raw('POST', `${CMS}?fieldValidation=Strict`, 'metadata: {name: y}\nspec: {foo: 1}\n', YAML_TYPE),
    400,
    'BadRequest',
    'strict decoding error: unknown field "spec"',
    'Strict YAML',
  );
  const warned = await h.raw('POST', deployments, deployment({ foo: 1 }), JSON_TYPE);
  t.equal(warned.status, 201, 'Warn (the default) takes the object');
  t.match(warned.headers.get('warning'), /^299 - "unknown field \\"spec\.foo\\""$/);
  t.notOk((await warned.json()).spec.foo, 'and drops the unknown field');
  await stillServing(t, h, []);
});

t.test('bad query values are a 400 naming the parameter', async (t) => {
  const h = await apiHarness(t);
  t.equal((await h.raw('POST', CMS, cm('x'), JSON_TYPE)).status, 201);
  const cases: [string, string, string | undefined, RegExp][] = [
    ['GET', `${CMS}?limit=abc`, undefined, /invalid limit "abc"/],
    ['GET', `${CMS}?timeoutSeconds=x`, undefined, /invalid timeoutSeconds "x"/],
    ['GET', `${CMS}?watch=1&timeoutSeconds=-5`, undefined, /invalid timeoutSeconds "-5"/],
    ['GET', `${CMS}?watch=maybe`, undefined, /query parameter watch: "maybe"/],
    ['GET', `${CMS}?allowWatchBookmarks=sure&watch=1`, undefined, /query parameter allowWatchBookmarks/],
    ['GET', `${CMS}?resourceVersion=abc`, undefined, /invalid resourceVersion "abc"/],
    ['GET', `${CMS}?resourceVersionMatch=Bogus&resourceVersion=1`, undefined, /resourceVersionMatch/],
    ['GET', `${CMS}?continue=garbage`, undefined, /continue parameter is not valid/],
    ['GET', `${CMS}?labelSelector=a%3D%3D%3Db`, undefined, /invalid label selector "a===b"/],
    ['GET', `${CMS}?fieldSelector=spec.nope%3Dx`, undefined, /spec\.nope/],
    ['POST', `${CMS}?fieldValidation=Nope`, cm('y'), /fieldValidation must be one of Ignore, Warn or Strict, not "Nope"/],
    ['POST', `${CMS}?dryRun=Maybe`, cm('y'), /Invalid dry run value: Maybe/],
    ['POST', `${CMS}?fieldManager=${'m'.repeat(129)}`, cm('y'), /fieldManager/],
    ['DELETE', `${CMS}/x?propagationPolicy=Sideways`, undefined, /propagationPolicy must be one of Background, Foreground or Orphan/],
    ['DELETE', `${CMS}/x?gracePeriodSeconds=soon`, undefined, /invalid gracePeriodSeconds "soon"/],
    ['DELETE', `${CMS}/x?orphanDependents=perhaps`, undefined, /query parameter orphanDependents/],
    ['DELETE', `${CMS}/x`, '{"gracePeriodSeconds": "soon"}', /Go struct field DeleteOptions\.gracePeriodSeconds/],
    ['DELETE', `${CMS}/x`, '{"propagationPolicy": "Sideways"}', /propagationPolicy must be one of/],
    ['DELETE', `${CMS}/x`, '[1]', /the DeleteOptions body must be an object/],
    ['PATCH', `${CMS}/x?fieldManager=m&force=kinda`, '{}', /query parameter force/],
  ];
  for (const [method, url, body, message] of cases) {
    const headers = method === 'PATCH' ? { 'content-type': 'application/apply-patch+yaml' } : JSON_TYPE;
    await expectStatus(t, await h.raw(method, url, body, headers), 400, 'BadRequest', message, `${method} ${url}`);
  }
  await stillServing(t, h, ['x']);
});

t.test('names in the path: traversal is never served as another resource', async (t) => {
  const h = await apiHarness(t);
  t.equal((await h.raw('POST', CMS, cm('x'), JSON_TYPE)).status, 201);
  const secret = { metadata: { name: 'token' }, stringData: { t: 'hunter2' } };
  t.equal((await h.request('POST', '/api/v1/namespaces/default/secrets', secret)).status, 201);
  const cases: [string, string, RegExp][] = [
    ['GET', `${CMS}/..%2fsecrets%2ftoken`, /^Name parameter invalid: "\.\.\/secrets\/token": may not contain '\/'$/],
    ['GET', `${CMS}/x%2f..%2f..%2fsecrets`, /may not contain '\/'/],
    ['DELETE', `${CMS}/a%2fb`, /Name parameter invalid: "a\/b"/],
    ['GET', `${CMS}/x%25y`, /may not contain '%'/],
    ['GET', '/api/v1/namespaces/default%2fkube-system/configmaps', /^Namespace parameter invalid: "default\/kube-system"/],
    ['GET', `${CMS}/%ff`, /invalid URL escape/],
    ['GET', `${CMS}/%`, /invalid URL escape/],
    ['GET', '/api/v1/namespaces/%e0%a4%a/configmaps', /invalid URL escape/],
  ];
  for (const [method, url, message] of cases) {
    await expectStatus(t, await h.raw(method, url), 400, 'BadRequest', message, `${method} ${url}`);
  }
  // A path's `..` reaches the app only from a socket (a Request's URL is already resolved): the raw
  // target is what it checks, so `configmaps/..` is not the namespace and `%2e%2e` is not either.
  for (const target of [
    `${CMS}/..`,
    `${CMS}/%2e%2e`,
    `${CMS}/%2E%2e/%2e%2e/secrets/token`,
    '/api/v1/namespaces/default/configmaps/./x',
    '/api/v1/namespaces/../configmaps',
  ]) {
    const res = await h.app.fetch(new Request(`https://skiff.test${target}`, { method: 'DELETE' }), {
      user: admin,
      incoming: { url: target } as never,
    });
    await expectStatus(t, res, 400, 'BadRequest', /^Name parameter invalid: "\.\.?": may not be '\.\.?'$/, `DELETE ${target}`);
  }
  t.same(badRequestPath('/api/v1/namespaces/default/configmaps/x?labelSelector=a%3D..'), undefined, 'dots in the query are fine');
  t.same(badRequestPath('/api/v1/namespaces/default/configmaps/x..y'), undefined, 'and dots within a name');
  t.equal((await h.request('GET', '/api/v1/namespaces/default')).body.status.phase, 'Active', 'the namespace was not deleted');
  t.equal((await h.request('GET', '/api/v1/namespaces/default/secrets/token')).status, 200, 'nor the Secret');
  await stillServing(t, h, ['x']);
});
