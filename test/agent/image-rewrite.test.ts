// registries.yaml's rewrite: which names the agent pulls at the mirror endpoints for an image.
import t from 'tap';
import { normalizedName, parseImageName, rewrittenNames } from '../../src/agent/image-rewrite.js';
import { parseRegistries } from '../../src/agent/registries.js';
import { hostsFiles } from '../../src/agent/registry-hosts.js';

t.test('image names as containerd reads them', async (t) => {
  t.same(parseImageName('busybox'), { registry: 'docker.io', repository: 'library/busybox', suffix: '' });
  t.same(parseImageName('rancher/coredns:1.6.3'), { registry: 'docker.io', repository: 'rancher/coredns', suffix: ':1.6.3' });
  t.same(parseImageName('127.0.0.1:5000/a/b:2@sha256:abc'), { registry: '127.0.0.1:5000', repository: 'a/b', suffix: ':2@sha256:abc' });
  t.same(parseImageName('localhost/x'), { registry: 'localhost', repository: 'x', suffix: '' });
  t.equal(normalizedName('busybox'), 'docker.io/library/busybox:latest');
  t.equal(normalizedName('reg.local:5000/team/app:1'), 'reg.local:5000/team/app:1');
});

t.test('rewrites: first matching rule, each endpoint that an image name can reach, Go-style groups', async (t) => {
  const r = parseRegistries(
    `mirrors:
  docker.io:
    endpoint: ["https://registry.example.com:5000", "http://plain.local:81/v2", "https://proxy.local/custom/root"]
    rewrite:
      "^rancher/(.*)": "mirrorproject/rancher-images/$1"
      "^library/(?<name>.*)": "official/\${name}"
  "*":
    endpoint: ["http://127.0.0.1:5001"]
    rewrite: {"^(.*)$": "all/\${1}"}
  plain.invalid:
    endpoint: ["http://127.0.0.1:5001"]
`,
    'r.yaml',
  );
  t.same(
    rewrittenNames(r, 'rancher/coredns-coredns:1.6.3'),
    [
      'registry.example.com:5000/mirrorproject/rancher-images/coredns-coredns:1.6.3',
      'plain.local:81/mirrorproject/rancher-images/coredns-coredns:1.6.3',
    ],
    'as in K3s`s example; an endpoint with a root of its own is skipped',
  );
  t.same(rewrittenNames(r, 'busybox'), ['registry.example.com:5000/official/busybox:latest', 'plain.local:81/official/busybox:latest']);
  t.same(
    rewrittenNames(r, 'other.local/x/y@sha256:abc'),
    ['127.0.0.1:5001/all/x/y@sha256:abc'],
    '"*" for registries without their own entry',
  );
  t.same(rewrittenNames(r, 'plain.invalid/x:1'), [], 'no rewrite rules: containerd pulls through the mirror as usual');
  t.same(rewrittenNames(parseRegistries('configs: {}\n', 'r.yaml'), 'busybox'), []);
  // Rewritten pulls name endpoint hosts directly: a plain-http one gets a file saying so.
  const files = hostsFiles(r);
  t.equal(files['plain.local:81'], '# Written by skiff from registries.yaml at every start.\nserver = "http://plain.local:81"\n\n[host]\n');
  t.notOk(files['registry.example.com:5000'], 'https is the default already');
});
