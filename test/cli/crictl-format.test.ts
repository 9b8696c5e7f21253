// skiff crictl's output, as crictl prints it: tables laid out by Go's tabwriter, go-units' times and
// sizes, IDs cut to 13 characters, -q, --no-trunc, JSON/YAML and inspect's status beside its info.
import t from 'tap';
import type { Container, Image, PodSandbox } from '../../src/cri/messages.js';
import {
  containersTable,
  humanDuration,
  humanSize,
  imagesTable,
  inspection,
  podsTable,
  statsTable,
  structured,
  tabwrite,
} from '../../src/cli/tools/crictl-format.js';

const NOW = Date.UTC(2025, 0, 1, 12, 0, 0);
/** A CRI time (ns) `seconds` before NOW. */
const before = (seconds: number) => (NOW - seconds * 1000) * 1e6;
const ID = 'a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90';
const POD_ID = 'f0e1d2c3b4a5968778695a4b3c2d1e0ff0e1d2c3b4a5968778695a4b3c2d1e0f';

const container: Container = {
  id: ID,
  podSandboxId: POD_ID,
  metadata: { name: 'main', attempt: 2 },
  image: { image: 'sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef', annotations: {} },
  imageRef: 'sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef',
  state: 'CONTAINER_RUNNING',
  createdAt: before(125),
  labels: { 'io.kubernetes.pod.name': 'web', 'io.kubernetes.pod.namespace': 'default' },
  annotations: {},
};

t.test('tabwriter: minimum width 20, padding 3, the last cell unpadded', async (t) => {
  t.equal(
    tabwrite([
      ['A', 'B', 'C'],
      ['a-rather-long-cell-here', 'b', 'c'],
    ]),
    `${'A'.padEnd(26)}${'B'.padEnd(20)}C\n${'a-rather-long-cell-here'.padEnd(26)}${'b'.padEnd(20)}c\n`,
  );
  t.equal(tabwrite([['ONLY']]), 'ONLY\n');
});

t.test("go-units' durations and sizes", async (t) => {
  const cases: [number, string][] = [
    [500, 'Less than a second'],
    [1000, '1 second'],
    [59_000, '59 seconds'],
    [60_000, 'About a minute'],
    [125_000, '2 minutes'],
    [3_600_000, 'About an hour'],
    [5 * 3_600_000, '5 hours'],
    [3 * 86_400_000, '3 days'],
    [20 * 86_400_000, '2 weeks'],
    [90 * 86_400_000, '3 months'],
    [800 * 86_400_000, '2 years'],
  ];
  for (const [ms, text] of cases) t.equal(humanDuration(ms), text, `${ms} ms`);
  t.equal(humanSize(0), '0B');
  t.equal(humanSize(999), '999B');
  t.equal(humanSize(1_234_567, 3), '1.23MB');
  t.equal(humanSize(4_400_000, 3), '4.4MB');
  t.equal(humanSize(2_000_000_000), '2GB');
  t.equal(humanSize(12_345), '12.35kB');
});

t.test('ps: columns, truncated IDs and image digests, -q, --no-trunc', async (t) => {
  const table = containersTable([container], { now: NOW });
  const [header, row] = table.split('\n');
  t.equal(
    header,
    'CONTAINER           IMAGE               CREATED             STATE               NAME                ' +
      'ATTEMPT             POD ID              POD                 NAMESPACE',
  );
  t.equal(
    row,
    'a1b2c3d4e5f60       0123456789abc       2 minutes ago       Running             main                ' +
      '2                   f0e1d2c3b4a59       web                 default',
  );
  t.equal(containersTable([container], { quiet: true }), `${ID}\n`);
  t.match(containersTable([container], { noTrunc: true, now: NOW }), `${ID}   sha256:0123456789abcdef`);
  const bare = { ...container, labels: {}, image: { image: 'skiff.local/busybox:1', annotations: {} } };
  t.match(containersTable([bare], { now: NOW }), /skiff\.local\/busybox:1 +2 minutes ago .* unknown +unknown\n$/);
});

t.test('pods: columns, states, the default runtime', async (t) => {
  const pod: PodSandbox = {
    id: POD_ID,
    metadata: { name: 'web', uid: 'u1', namespace: 'default', attempt: 0 },
    state: 'SANDBOX_NOTREADY',
    createdAt: before(3 * 3600),
    labels: {},
    annotations: {},
    runtimeHandler: '',
  };
  t.equal(
    podsTable([pod], { now: NOW }),
    'POD ID              CREATED             STATE               NAME                NAMESPACE           ATTEMPT             RUNTIME\n' +
      'f0e1d2c3b4a59       3 hours ago         NotReady            web                 default             0                   (default)\n',
  );
  t.equal(podsTable([pod], { quiet: true }), `${POD_ID}\n`);
});

t.test('images: a row per tag, <none> for an image pulled by digest, --digests, -q', async (t) => {
  const image: Image = {
    id: 'sha256:89abcdef0123456789abcdef0123456789abcdef0123456789abcdef01234567',
    repoTags: ['skiff.local/busybox:1', 'skiff.local/busybox:latest'],
    repoDigests: ['skiff.local/busybox@sha256:fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210'],
    size: 1_234_567,
    uid: null,
    username: '',
    spec: null,
    pinned: false,
  };
  const byDigest = { ...image, repoTags: [], id: 'sha256:1111111111111111111111111111111111111111111111111111111111111111' };
  t.equal(
    imagesTable([image, byDigest]),
    'IMAGE                 TAG                 IMAGE ID            SIZE\n' +
      'skiff.local/busybox   1                   89abcdef01234       1.23MB\n' +
      'skiff.local/busybox   latest              89abcdef01234       1.23MB\n' +
      'skiff.local/busybox   <none>              1111111111111       1.23MB\n',
  );
  t.match(
    imagesTable([image], { digests: true }),
    /^IMAGE +TAG +DIGEST +IMAGE ID +SIZE\nskiff\.local\/busybox +1 +fedcba9876543 +89abcdef01234/,
  );
  t.equal(imagesTable([image], { quiet: true }), `${image.id}\n`);
});

t.test('stats: CPU between two samples; stopped and new containers left out', async (t) => {
  const sample = (id: string, cpuNs: number, at: number, mem: number) => ({
    attributes: { id, metadata: { name: id.slice(0, 4) } },
    cpu: { timestamp: at, usageCoreNanoSeconds: { value: cpuNs } },
    memory: { workingSetBytes: { value: mem } },
    writableLayer: { usedBytes: { value: 8192 }, inodesUsed: { value: 3 } },
    swap: null,
  });
  const first = [sample(ID, 1e9, 0, 500_000), sample('stopped', 0, 0, 0)];
  const second = [sample(ID, 1.25e9, 1e9, 600_000), sample('stopped', 0, 1e9, 0), sample('newcomer', 5, 1e9, 9)];
  t.equal(
    statsTable(first, second),
    'CONTAINER           NAME                CPU %               MEM                 DISK                INODES              SWAP\n' +
      'a1b2c3d4e5f60       a1b2                25.00               600kB               8.192kB             3                   0B\n',
  );
  t.match(statsTable(first, second, true), /\nstopped +stop +0\.00 +0B/, '-a shows stopped ones');
});

t.test('structured output and inspect', async (t) => {
  t.same(JSON.parse(structured({ containers: [container] }, 'json')), { containers: [container] });
  t.match(structured({ items: [] }, 'yaml'), /^items: \[\]\n/);
  const answer = { status: { id: ID }, info: { info: '{"pid":42}', sandboxID: '"abc"' } };
  t.same(inspection([answer]), { status: { id: ID }, info: { pid: 42 }, sandboxID: 'abc' }, 'one: bare, info parsed or unquoted');
  t.same(inspection([answer, answer]), [inspection([answer]), inspection([answer])], 'several: a list');
});
