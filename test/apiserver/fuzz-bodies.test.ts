// A short, seeded fuzz run of request bodies against the in-process API: valid objects of several
// kinds, mutated in their structure (values of the wrong type, odd numbers and strings, deep nesting,
// unknown keys) and in their bytes (JSON, YAML, protobuf), sent as creates, updates and every kind
// of patch. Every answer is a success object or a well-formed Status, never a 5xx or a throw.
import t from 'tap';
import YAML from 'yaml';
import { admin, apiHarness } from './harness.js';
import { envelope, pb } from '../helpers/protobuf.js';

const SEED = 0x5eed_2026;
const ROUNDS = 2500;

/** mulberry32: small, fast and the same on every machine. */
function rng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = Math.imul(a ^ (a >>> 15), 1 | a);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 2 ** 32;
  };
  const int = (n: number) => Math.floor(next() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
  return { next, int, pick };
}
type Rng = ReturnType<typeof rng>;

interface Seed {
  collection: string;
  body: Record<string, any>;
}

const NS = '/api/v1/namespaces/default';
const container = { name: 'c', image: 'busybox', ports: [{ containerPort: 80 }], resources: { limits: { cpu: '100m' } } };
const SEEDS: Seed[] = [
  {
    collection: `${NS}/configmaps`,
    body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cm', labels: { a: 'b' } }, data: { k: 'v' } },
  },
  { collection: `${NS}/secrets`, body: { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' }, type: 'Opaque', data: { k: 'dg==' } } },
  {
    collection: `${NS}/pods`,
    body: {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'p', annotations: { x: 'y' } },
      spec: { containers: [container], restartPolicy: 'Never' },
    },
  },
  {
    collection: `${NS}/services`,
    body: {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'svc' },
      spec: { selector: { a: 'b' }, ports: [{ port: 80, targetPort: 'http' }] },
    },
  },
  {
    collection: '/apis/apps/v1/namespaces/default/deployments',
    body: {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'd' },
      spec: {
        replicas: 2,
        selector: { matchLabels: { a: 'b' } },
        strategy: { rollingUpdate: { maxSurge: '25%' } },
        template: { metadata: { labels: { a: 'b' } }, spec: { containers: [container] } },
      },
    },
  },
  {
    collection: '/apis/rbac.authorization.k8s.io/v1/namespaces/default/roles',
    body: {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: { name: 'r' },
      rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get'] }],
    },
  },
  {
    collection: '/api/v1/namespaces',
    body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'fuzz' } },
  },
];

/** Odd values a client might send anywhere. */
function oddValue(r: Rng, depth = 0): unknown {
  switch (r.int(16)) {
    case 0:
      return null;
    case 1:
      return r.pick([true, false]);
    case 2:
      return r.pick([0, -1, 1.5, 2 ** 31, -(2 ** 63), 1e308, Number.MAX_SAFE_INTEGER + 2]);
    case 3:
      return r.pick(['', ' ', '-', '..', '../etc/passwd', 'A_B', '%2e%2e', '\u0000', '\ud800', 'ü', '0x1F', '1e3', 'null', '10Gi', '25%']);
    case 4:
      return 'x'.repeat(r.pick([64, 254, 70_000]));
    case 5:
      return [];
    case 6:
      return {};
    case 7:
      return depth < 3 ? [oddValue(r, depth + 1), oddValue(r, depth + 1)] : 1;
    case 8:
      return depth < 3 ? { [r.pick(['name', 'foo', '$patch', '__proto__', 'constructor', ''])]: oddValue(r, depth + 1) } : 'x';
    case 9: {
      let nested: unknown = [];
      for (let n = r.pick([10, 500, 1200]); n > 0; n--) nested = r.next() < 0.5 ? [nested] : { a: nested };
      return nested;
    }
    case 10:
      return r.pick(['2024-01-01T00:00:00Z', 'yesterday', '2024-13-45T99:00:00Z']);
    case 11:
      return { $patch: r.pick(['replace', 'delete', 'merge', 'nope']) };
    case 12:
      return r.pick(['Always', 'Never', 'TCP', 'ClusterIP', 'Foreground']);
    default:
      return r.int(100_000);
  }
}

/** Every path to a value in `obj`, for picking one to change. */
function paths(obj: unknown, prefix: (string | number)[] = [], out: (string | number)[][] = []): (string | number)[][] {
  if (obj === null || typeof obj !== 'object' || prefix.length > 8) return out;
  for (const [k, v] of Object.entries(obj)) {
    const p = [...prefix, Array.isArray(obj) ? Number(k) : k];
    out.push(p);
    paths(v, p, out);
  }
  return out;
}

function mutateStructure(r: Rng, body: Record<string, any>): Record<string, any> {
  const obj = structuredClone(body);
  for (let n = 1 + r.int(3); n > 0; n--) {
    const all = paths(obj);
    if (all.length === 0) break;
    const path = r.pick(all);
    let parent: any = obj;
    for (const key of path.slice(0, -1)) parent = parent[key];
    const last = path.at(-1)!;
    const action = r.int(4);
    if (action === 0) delete parent[last];
    else if (action === 1 && parent[last] !== null && typeof parent[last] === 'object' && !Array.isArray(parent[last]))
      parent[last][r.pick(['foo', 'bar', 'spec', 'status', 'metadata'])] = oddValue(r);
    else parent[last] = oddValue(r);
  }
  return obj;
}

function mutateBytes(r: Rng, bytes: Uint8Array): Uint8Array {
  let b = Buffer.from(bytes);
  for (let n = 1 + r.int(4); n > 0 && b.length > 0; n--) {
    const i = r.int(b.length);
    const at = (insert: Uint8Array) => Buffer.concat([b.subarray(0, i), insert, b.subarray(i)]);
    switch (r.int(5)) {
      case 0:
        b[i] = r.int(256);
        break;
      case 1:
        b = Buffer.concat([b.subarray(0, i), b.subarray(i + 1 + r.int(8))]);
        break;
      case 2:
        b = at(Buffer.from(r.pick(['{', '}', '[', ']', '"', ',', ':', 'null', '\\u', '- ', '&a ', '*a', '\n  '])));
        break;
      case 3:
        b = b.subarray(0, i);
        break;
      default: {
        const from = r.int(b.length);
        b = at(b.subarray(from, from + r.int(64)));
      }
    }
  }
  return new Uint8Array(b);
}

/** A ConfigMap as kubectl's protobuf encoding sends it. */
function protobufConfigMap(name: string, data: Record<string, string>): Uint8Array {
  const meta = pb((w) => w.uint32((1 << 3) | 2).string(name));
  const raw = pb((w) => {
    w.uint32((1 << 3) | 2).bytes(meta);
    for (const [k, v] of Object.entries(data)) {
      w.uint32((2 << 3) | 2).bytes(
        pb((e) =>
          e
            .uint32((1 << 3) | 2)
            .string(k)
            .uint32((2 << 3) | 2)
            .string(v),
        ),
      );
    }
  });
  return new Uint8Array(envelope('v1', 'ConfigMap', raw));
}

/** YAML, or JSON (which is YAML too) for what the YAML library cannot write (very deep values). */
function toYaml(v: unknown): string {
  try {
    return YAML.stringify(v);
  } catch {
    return JSON.stringify(v);
  }
}

const PATCH_TYPES = [
  'application/merge-patch+json',
  'application/strategic-merge-patch+json',
  'application/json-patch+json',
  'application/apply-patch+yaml',
];

t.test(`${ROUNDS} mutated request bodies: a success or a Status every time, never a 5xx`, async (t) => {
  const h = await apiHarness(t);
  const r = rng(SEED);
  // Each kind exists once, so that updates and patches have something to change.
  for (const seed of SEEDS) {
    const res = await h.raw('POST', seed.collection, JSON.stringify(seed.body), { 'content-type': 'application/json' });
    t.equal(res.status, 201, `seed ${seed.body.kind}`);
  }
  const failures: string[] = [];
  const counts: Record<number, number> = {};
  const started = Date.now();
  for (let round = 0; round < ROUNDS; round++) {
    const seed = r.pick(SEEDS);
    const name = seed.body.metadata.name as string;
    const item = `${seed.collection}/${name}`;
    const structured = r.next() < 0.6 ? mutateStructure(r, seed.body) : structuredClone(seed.body);
    // Half the creates are of a new name, so that they get past "already exists".
    if (r.next() < 0.5 && typeof structured.metadata?.name === 'string') structured.metadata.name += `-${round}`;
    let method = r.pick(['POST', 'PUT', 'PATCH', 'PATCH']);
    let url = method === 'POST' ? seed.collection : item;
    let contentType = r.pick(['application/json', 'application/json', 'application/yaml']);
    let body: Uint8Array;
    if (method === 'PATCH') {
      contentType = r.pick(PATCH_TYPES);
      const path = r.pick([...paths(structured), ['metadata', 'labels']]).join('/');
      const ops = [
        { op: r.pick(['add', 'replace', 'remove', 'test', 'move', 'copy']), path: `/${path}`, from: '/metadata', value: oddValue(r) },
      ];
      const patch = contentType === 'application/json-patch+json' ? ops : structured;
      body = new TextEncoder().encode(contentType.endsWith('yaml') ? toYaml(patch) : JSON.stringify(patch));
      if (contentType.endsWith('yaml')) url += '?fieldManager=fuzz';
    } else if (seed.body.kind === 'ConfigMap' && r.next() < 0.2) {
      contentType = 'application/vnd.kubernetes.protobuf';
      body = protobufConfigMap(r.next() < 0.5 ? name : `pb-${round}`, { k: String(oddValue(r)) });
    } else {
      body = new TextEncoder().encode(contentType === 'application/yaml' ? toYaml(structured) : JSON.stringify(structured));
    }
    if (r.next() < 0.4) body = mutateBytes(r, body);
    if (method === 'POST' && r.next() < 0.5) url += '?dryRun=All';
    if (r.next() < 0.15) url += `${url.includes('?') ? '&' : '?'}fieldValidation=${r.pick(['Strict', 'Ignore', 'Warn'])}`;
    if (r.next() < 0.02) method = 'DELETE';
    const what = `#${round} ${method} ${url} ${contentType} ${Buffer.from(body).toString('utf8').slice(0, 120)}`;
    let res: Response;
    try {
      res = await h.app.fetch(
        new Request(`https://skiff.test${url}`, { method, body: body as BodyInit, headers: { 'content-type': contentType } }),
        {
          user: admin,
        },
      );
    } catch (err) {
      failures.push(`${what}: threw ${(err as Error).stack}`);
      continue;
    }
    counts[res.status] = (counts[res.status] ?? 0) + 1;
    const text = await res.text();
    let answer: any;
    try {
      answer = JSON.parse(text);
    } catch {
      failures.push(`${what}: ${res.status} not JSON: ${text.slice(0, 200)}`);
      continue;
    }
    if (res.status >= 500) failures.push(`${what}: ${res.status} ${answer.message}`);
    else if (res.status >= 400) {
      const ok =
        answer.kind === 'Status' &&
        answer.apiVersion === 'v1' &&
        answer.status === 'Failure' &&
        answer.code === res.status &&
        typeof answer.reason === 'string' &&
        typeof answer.message === 'string' &&
        answer.message.length > 0;
      if (!ok) failures.push(`${what}: ${res.status} not a failure Status: ${text.slice(0, 200)}`);
    } else if (typeof answer.kind !== 'string' || typeof answer.apiVersion !== 'string') {
      failures.push(`${what}: ${res.status} without kind and apiVersion: ${text.slice(0, 200)}`);
    }
  }
  t.comment(`${ROUNDS} requests in ${Date.now() - started} ms; answers by code: ${JSON.stringify(counts)}`);
  t.same(failures.slice(0, 10), [], `no 5xx, throw or malformed answer (${failures.length} in all)`);
  t.ok(
    Object.keys(counts).some((c) => Number(c) < 300),
    'some mutations were taken',
  );
  t.ok(
    Object.keys(counts).some((c) => Number(c) === 400),
    'and some refused as malformed',
  );
  t.equal((await h.raw('GET', '/healthz')).status, 200, 'the server still serves');
  t.equal((await h.request('GET', `${NS}/configmaps`)).status, 200);
});
