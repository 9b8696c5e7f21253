// registries.yaml as K3s reads it, and what containerd gets from it (hosts.toml files and CRI auth).
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { parseRegistries, readRegistries } from '../../src/agent/registries.js';
import { criRegistryToml, hostsFiles, writeHostsDir } from '../../src/agent/registry-hosts.js';
import { runSkiff } from '../helpers/run.js';
import { tempDir } from '../helpers/tmp.js';

t.test('the full format: mirrors with endpoints and rewrites, configs with auth and tls', async (t) => {
  const dir = tempDir(t);
  for (const f of ['ca.pem', 'client.pem', 'client-key.pem']) fs.writeFileSync(path.join(dir, f), 'x');
  const file = path.join(dir, 'registries.yaml');
  fs.writeFileSync(
    file,
    `mirrors:
  docker.io:
    endpoint: ["https://mirror.local:5000", "http://127.0.0.1:5001/", "plain.local"]
    rewrite:
      "^library/(.*)": "mirrored/$1"
  "*":
    endpoint: ["https://all.local"]
configs:
  mirror.local:5000:
    auth: {username: me, password: 0123}
    tls: {ca_file: ca.pem, cert_file: ${dir}/client.pem, key_file: client-key.pem}
  all.local:
    auth: {auth: bWU6c2VjcmV0, identitytoken: tok}
    tls: {insecure_skip_verify: true}
`,
  );
  const r = readRegistries(file);
  t.same(r.mirrors, {
    'docker.io': {
      endpoints: ['https://mirror.local:5000', 'http://127.0.0.1:5001', 'https://plain.local'],
      rewrite: { '^library/(.*)': 'mirrored/$1' },
    },
    '*': { endpoints: ['https://all.local'], rewrite: {} },
  });
  t.same(
    r.configs['mirror.local:5000'],
    {
      auth: { username: 'me', password: '0123' },
      tls: { caFile: path.join(dir, 'ca.pem'), certFile: path.join(dir, 'client.pem'), keyFile: path.join(dir, 'client-key.pem') },
    },
    'a password stays as written; relative paths are from the file',
  );
  t.same(r.configs['all.local'], { auth: { auth: 'bWU6c2VjcmV0', identityToken: 'tok' }, tls: { insecureSkipVerify: true } });

  const files = hostsFiles(r);
  t.same(
    Object.keys(files),
    ['127.0.0.1:5001', '_default', 'all.local', 'docker.io', 'mirror.local:5000'],
    'the plain-http endpoint of a mirror with rewrites too (see image-rewrite.test.ts)',
  );
  t.equal(
    files['docker.io'],
    `# Written by skiff from registries.yaml at every start.

[host."https://mirror.local:5000"]
  capabilities = ["pull", "resolve"]
  ca = "${dir}/ca.pem"
  client = [["${dir}/client.pem", "${dir}/client-key.pem"]]

[host."http://127.0.0.1:5001"]
  capabilities = ["pull", "resolve"]

[host."https://plain.local"]
  capabilities = ["pull", "resolve"]
`,
    'each mirror carries the TLS of its own host; no server line keeps containerd`s default endpoint last',
  );
  t.match(files._default, /\[host\."https:\/\/all\.local"\]\n {2}capabilities = \["pull", "resolve"\]\n {2}skip_verify = true\n/);
  t.notMatch(files._default, /server =/);
  t.equal(
    files['mirror.local:5000'],
    '# Written by skiff from registries.yaml at every start.\nserver = "https://mirror.local:5000"\n' +
      `ca = "${dir}/ca.pem"\nclient = [["${dir}/client.pem", "${dir}/client-key.pem"]]\n\n[host]\n`,
    'a registry with TLS and no mirror: itself, over https',
  );

  t.same(criRegistryToml(r, '/d/certs.d'), [
    '  [plugins."io.containerd.grpc.v1.cri".registry]',
    '    config_path = "/d/certs.d"',
    '  [plugins."io.containerd.grpc.v1.cri".registry.configs."all.local".auth]',
    '    auth = "bWU6c2VjcmV0"',
    '    identitytoken = "tok"',
    '  [plugins."io.containerd.grpc.v1.cri".registry.configs."mirror.local:5000".auth]',
    '    username = "me"',
    '    password = "0123"',
  ]);

  const hosts = path.join(dir, 'certs.d');
  fs.mkdirSync(path.join(hosts, 'stale.local'), { recursive: true });
  writeHostsDir(hosts, r);
  t.same(
    fs.readdirSync(hosts).sort(),
    ['127.0.0.1:5001', '_default', 'all.local', 'docker.io', 'mirror.local:5000'],
    'a registry no longer in the file goes',
  );
  t.equal(fs.readFileSync(path.join(hosts, 'docker.io', 'hosts.toml'), 'utf8'), files['docker.io']);
});

t.test('small details: docker.io over TLS, endpoint paths, quoting, empty files', async (t) => {
  const dir = tempDir(t);
  fs.writeFileSync(path.join(dir, 'ca.pem'), 'x');
  const r = parseRegistries(
    `mirrors:\n  reg.local:\n    endpoint: ["https://proxy.local/v2", "https://proxy.local/prefix/"]\n` +
      `configs:\n  docker.io:\n    tls: {ca_file: ca.pem}\n  reg.local:\n    auth: {username: 'a"b', password: "p\\\\q"}\n`,
    path.join(dir, 'r.yaml'),
  );
  const files = hostsFiles(r);
  t.match(files['docker.io'], /^server = "https:\/\/registry-1\.docker\.io"$/m);
  t.notMatch(files['reg.local'].split('[host."https://proxy.local/prefix"]')[0], /override_path/, '/v2 is the API root already');
  t.match(
    files['reg.local'],
    /\[host\."https:\/\/proxy\.local\/prefix"\]\n {2}capabilities = \["pull", "resolve"\]\n {2}override_path = true\n/,
    'a path of its own is used as given',
  );
  t.match(criRegistryToml(r, '/x').join('\n'), /username = "a\\"b"\n {4}password = "p\\\\q"/);
  t.same(parseRegistries('', 'r.yaml'), { mirrors: {}, configs: {} });
  t.same(parseRegistries('# nothing\n', 'r.yaml'), { mirrors: {}, configs: {} });
  t.same(parseRegistries('mirrors:\n  a.local:\n', 'r.yaml'), { mirrors: { 'a.local': { endpoints: [], rewrite: {} } }, configs: {} });
});

t.test('a malformed file is one clear line naming the place', async (t) => {
  const bad: [string, RegExp][] = [
    ['mirrors: [a', /^registries file \/etc\/r\.yaml: not valid YAML: .+$/],
    ['- a\n- b\n', /^registries file \/etc\/r\.yaml: expected a mapping$/],
    ['mirror:\n  docker.io: {}\n', /unknown key "mirror" \(expected mirrors, configs\)/],
    ['mirrors:\n  docker.io:\n    endpoints: [x]\n', /mirrors\."docker\.io": unknown key "endpoints" \(expected endpoint, rewrite\)/],
    ['mirrors:\n  docker.io:\n    endpoint: https://a\n', /mirrors\."docker\.io"\.endpoint: expected a list/],
    [
      'mirrors:\n  docker.io:\n    endpoint: ["ftp://a"]\n',
      /mirrors\."docker\.io"\.endpoint\[0\]: "ftp:\/\/a": only http and https endpoints/,
    ],
    ['mirrors:\n  docker.io:\n    endpoint: ["https://u:p@a"]\n', /credentials go in configs/],
    ['mirrors:\n  docker.io:\n    rewrite: {"(": x}\n', /rewrite: "\(" is not a valid regular expression/],
    ['mirrors:\n  https://docker.io: {}\n', /mirrors\."https:\/\/docker\.io": expected a registry host\[:port\]/],
    ['configs:\n  reg.local:\n    auth: {user: a}\n', /configs\."reg\.local"\.auth: unknown key "user"/],
    ['configs:\n  reg.local:\n    auth: {auth: "not base64!"}\n', /auth\.auth: must be base64 of username:password/],
    ['configs:\n  reg.local:\n    tls: {insecure_skip_verify: maybe}\n', /tls\.insecure_skip_verify: expected true or false/],
    [
      'configs:\n  reg.local:\n    tls: {ca_file: /nonexistent/ca.pem}\n',
      /configs\."reg\.local"\.tls\.ca_file: \/nonexistent\/ca\.pem: no such file/,
    ],
    ['configs:\n  "*":\n    auth: {username: a}\n', /credentials need a registry host/],
    ['configs:\n  a.local: {}\n  a.local: {}\n', /not valid YAML: Map keys must be unique/],
  ];
  for (const [text, re] of bad) {
    let message = '';
    try {
      parseRegistries(text, '/etc/r.yaml');
    } catch (err) {
      message = (err as Error).message;
    }
    t.match(message, re, JSON.stringify(text));
    t.notMatch(message, /\n/, 'one line');
  }
  const dir = tempDir(t);
  t.throws(() => readRegistries(dir), /cannot read registries file .*: it is a directory/);
});

t.test('skiff server and skiff agent refuse a malformed --private-registry in one line, before anything starts', async (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, 'registries.yaml');
  fs.writeFileSync(file, 'mirrors:\n  docker.io:\n    endpoint: https://mirror.local\n');
  const common = ['--config', '/dev/null', '--data-dir', path.join(dir, 'data'), '--private-registry', file];
  for (const args of [
    ['server', '--write-kubeconfig', path.join(dir, 'kubeconfig'), ...common],
    ['agent', '--server', 'https://127.0.0.1:1', '--token', 'x', ...common],
  ]) {
    const r = await runSkiff(args);
    t.equal(r.code, 2, args[0]);
    t.equal(r.stderr, `skiff: registries file ${file}: mirrors."docker.io".endpoint: expected a list\n`);
  }
  t.notOk(fs.existsSync(path.join(dir, 'data')), 'no data dir was made');
});
