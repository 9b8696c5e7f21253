// Pods' resolv.conf as the kubelet forms it (pod-dns.ts) for each dnsPolicy, with dnsConfig merged
// and the resolver's limits applied; and the host's resolv.conf as the node reads it (resolv-conf.ts).
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { podDnsConfig } from '../../src/agent/pods/pod-dns.js';
import type { P } from '../../src/agent/pods/labels.js';
import { checkResolvConf, parseResolvConf } from '../../src/agent/resolv-conf.js';
import { sandboxConfig } from '../../src/agent/pods/cri-config.js';
import { tempDir } from '../helpers/tmp.js';

const cluster = { clusterDNS: '10.43.0.10', clusterDomain: 'cluster.local' };
const host = { nameservers: ['192.0.2.53', '192.0.2.54'], searches: ['lan', 'corp.example'], options: ['ndots:1', 'timeout:2'] };
const pod = (spec: Record<string, unknown> = {}, namespace = 'shop'): P =>
  ({ metadata: { name: 'p', namespace, uid: 'u' }, spec: { containers: [{ name: 'app' }], ...spec } }) as P;
const CLUSTER_SEARCH = ['shop.svc.cluster.local', 'svc.cluster.local', 'cluster.local'];

t.test('ClusterFirst (the default): the cluster DNS server, the cluster search list before the host one, ndots:5', async (t) => {
  for (const spec of [{}, { dnsPolicy: 'ClusterFirst' }]) {
    const { config, problems } = podDnsConfig(pod(spec), cluster, host);
    t.same(config, { servers: ['10.43.0.10'], searches: [...CLUSTER_SEARCH, 'lan', 'corp.example'], options: ['ndots:5'] });
    t.same(problems, []);
  }
  t.same(
    podDnsConfig(pod({}, 'kube-system'), { clusterDNS: '10.96.0.10', clusterDomain: 'k.test' }, { ...host, searches: ['k.test'] }).config
      .searches,
    ['kube-system.svc.k.test', 'svc.k.test', 'k.test'],
    'the namespace and domain come from the pod and the cluster; a host domain already there is not repeated',
  );
});

t.test('hostNetwork: ClusterFirst falls back to the host, ClusterFirstWithHostNet gets cluster DNS', async (t) => {
  t.same(podDnsConfig(pod({ hostNetwork: true }), cluster, host).config, {
    servers: host.nameservers,
    searches: host.searches,
    options: host.options,
  });
  t.same(podDnsConfig(pod({ hostNetwork: true, dnsPolicy: 'ClusterFirstWithHostNet' }), cluster, host).config, {
    servers: ['10.43.0.10'],
    searches: [...CLUSTER_SEARCH, 'lan', 'corp.example'],
    options: ['ndots:5'],
  });
  t.same(
    podDnsConfig(pod({ dnsPolicy: 'ClusterFirstWithHostNet' }), cluster, host).config.servers,
    ['10.43.0.10'],
    'ClusterFirstWithHostNet without hostNetwork is ClusterFirst',
  );
});

t.test('Default is the host resolv.conf; None is dnsConfig alone', async (t) => {
  t.same(podDnsConfig(pod({ dnsPolicy: 'Default' }), cluster, host).config, {
    servers: host.nameservers,
    searches: host.searches,
    options: host.options,
  });
  t.same(podDnsConfig(pod({ dnsPolicy: 'None' }), cluster, host).config, { servers: [], searches: [], options: [] });
  const dnsConfig = { nameservers: ['1.2.3.4'], searches: ['a.example'], options: [{ name: 'ndots', value: '2' }, { name: 'edns0' }] };
  t.same(podDnsConfig(pod({ dnsPolicy: 'None', dnsConfig }), cluster, host).config, {
    servers: ['1.2.3.4'],
    searches: ['a.example'],
    options: ['ndots:2', 'edns0'],
  });
});

t.test('dnsConfig merges as upstream: duplicates dropped, its options override same-named ones', async (t) => {
  const dnsConfig = {
    nameservers: ['10.43.0.10', '192.0.2.99'],
    searches: ['svc.cluster.local', 'extra.example'],
    options: [{ name: 'ndots', value: '2' }, { name: 'single-request-reopen' }, { name: 'timeout', value: '' }],
  };
  t.same(podDnsConfig(pod({ dnsConfig }), cluster, host).config, {
    servers: ['10.43.0.10', '192.0.2.99'],
    searches: [...CLUSTER_SEARCH, 'lan', 'corp.example', 'extra.example'],
    options: ['ndots:2', 'single-request-reopen', 'timeout'],
  });
  t.same(
    podDnsConfig(pod({ dnsPolicy: 'Default', dnsConfig: { options: [{ name: 'timeout', value: '5' }] } }), cluster, host).config.options,
    ['ndots:1', 'timeout:5'],
  );
});

t.test('limits: 3 nameservers, 32 search domains of at most 253 characters and 2048 in all, each cut said', async (t) => {
  const many = podDnsConfig(pod({ dnsConfig: { nameservers: ['1.1.1.1', '2.2.2.2', '3.3.3.3'] } }), cluster, host);
  t.same(many.config.servers, ['10.43.0.10', '1.1.1.1', '2.2.2.2']);
  t.match(many.problems, [/^Nameserver limits were exceeded.*10\.43\.0\.10 1\.1\.1\.1 2\.2\.2\.2$/]);

  const searches = Array.from({ length: 40 }, (_, i) => `d${i}.example`);
  const cut = podDnsConfig(pod({ dnsConfig: { searches } }), cluster, host);
  t.equal(cut.config.searches.length, 32);
  t.same(cut.config.searches.slice(0, 5), [...CLUSTER_SEARCH, 'lan', 'corp.example']);
  t.match(cut.problems, [/^Search Line limits were exceeded/]);

  const long = `${'x'.repeat(63)}.${'y'.repeat(60)}.${'z'.repeat(60)}.${'w'.repeat(60)}.example`;
  t.same(podDnsConfig(pod({ dnsPolicy: 'None', dnsConfig: { searches: [long, 'ok.example'] } }), cluster, host).config.searches, [
    'ok.example',
  ]);
  const wide = Array.from({ length: 30 }, (_, i) => `${String(i).padStart(2, '0')}${'a'.repeat(80)}.example`);
  const chars = podDnsConfig(pod({ dnsPolicy: 'None', dnsConfig: { searches: wide } }), cluster, host).config.searches;
  t.ok(chars.join(' ').length <= 2048 && chars.length === 22, `the search line is cut from its end to 2048 characters (${chars.length})`);
});

t.test('the sandbox carries the formed resolv.conf, hostNetwork pods too', async (t) => {
  const dns = { servers: ['10.43.0.10'], searches: CLUSTER_SEARCH, options: ['ndots:5'] };
  t.same(sandboxConfig(pod({ hostNetwork: true }), 0, '/logs', dns).dnsConfig, dns);
});

t.test('resolv.conf parsing: comments, the last search line, options adding up', async (t) => {
  t.same(
    parseResolvConf(
      [
        '# generated',
        'nameserver 192.0.2.53 ; the router',
        'search old.example',
        'nameserver 2001:db8::53',
        'search lan. corp.example .',
        'options ndots:1',
        'options timeout:2 rotate',
        '',
      ].join('\n'),
    ),
    { nameservers: ['192.0.2.53', '2001:db8::53'], searches: ['lan', 'corp.example'], options: ['ndots:1', 'timeout:2', 'rotate'] },
  );
  const dir = tempDir(t, 'resolv-');
  const file = path.join(dir, 'resolv.conf');
  fs.writeFileSync(file, 'nameserver 192.0.2.1\n');
  t.equal(checkResolvConf(file), file);
  t.equal(checkResolvConf(undefined), undefined);
  t.throws(() => checkResolvConf(path.join(dir, 'nope')), /--resolv-conf .*nope: no such readable file/);
});
