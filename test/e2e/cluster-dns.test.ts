// Cluster DNS on two real nodes, each in a network namespace of the test's own, looked up from pods
// with busybox's nslookup: a Service by its full name and by its short name through the search
// list, a headless Service's endpoints and a pod's <hostname>.<subdomain> name, SRV and PTR, an
// ExternalName, a name forwarded to the upstream server the test runs (listed in the nodes'
// --resolv-conf), NXDOMAIN; and each node answering its own pods (the other node's server cut off).
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { RCODE } from '../../src/agent/network/dns/cache.js';
import { startAgent } from '../helpers/agents.js';
import { startCluster, type Cluster } from '../helpers/cluster.js';
import { startFakeUpstream } from '../helpers/dns.js';
import { eventually } from '../helpers/eventually.js';
import { createNetLab, type NetHost } from '../helpers/netlab.js';
import { BUSYBOX } from '../helpers/node-env.js';
import { podWhen } from '../helpers/pods.js';
import { tempDir } from '../helpers/tmp.js';

const soa = {
  type: 'SOA' as const,
  name: 'upstream.test',
  ttl: 60,
  data: { mname: 'ns.upstream.test', rname: 'h.upstream.test', serial: 1, refresh: 60, retry: 60, expire: 60, minimum: 60 },
};

function pod(name: string, node: string, spec: Record<string, unknown> = {}, labels: Record<string, string> = {}) {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, labels },
    spec: {
      nodeName: node,
      terminationGracePeriodSeconds: 0,
      containers: [{ name: 'c', image: BUSYBOX, command: ['sleep', '3600'] }],
      ...spec,
    },
  };
}

const service = (name: string, spec: Record<string, unknown>) => ({ apiVersion: 'v1', kind: 'Service', metadata: { name }, spec });

/** What `nslookup args` prints from a pod (exit code aside: busybox fails when any search domain does). */
async function nslookup(c: Cluster, from: string, ...args: string[]): Promise<string> {
  const r = await c.kubectl(['exec', from, '--', 'nslookup', ...args]);
  return r.stdout + r.stderr;
}

/** Waits until nslookup from the pod prints something matching `want`; answers the output. */
function lookupUntil(c: Cluster, from: string, args: string[], want: RegExp | ((out: string) => boolean)): Promise<string> {
  let last = '';
  const ok = typeof want === 'function' ? want : (out: string) => want.test(out);
  return eventually(
    async () => {
      last = await nslookup(c, from, ...args);
      return ok(last) ? last : undefined;
    },
    { timeout: 60_000, what: `nslookup ${args.join(' ')} from ${from} to print ${want}`, explain: () => `last output:\n${last}` },
  );
}

t.test('cluster DNS on two nodes, from pods', async (t) => {
  const lab = createNetLab(t, 2);
  const [host0, host1] = lab.hosts as [NetHost, NetHost];
  // The nodes' upstream server: the test's own, on the lab's gateway (the root namespace's address on the segment).
  const upstream = await startFakeUpstream(
    lab.gateway,
    (q) => {
      if (q.name === 'www.upstream.test' && q.type === 'A') return { answers: [{ type: 'A', name: q.name, ttl: 300, data: '192.0.2.80' }] };
      if (q.name === 'target.upstream.test' && q.type === 'A')
        return { answers: [{ type: 'A', name: q.name, ttl: 300, data: '192.0.2.81' }] };
      return q.name.endsWith('upstream.test') ? { authorities: [soa] } : { rcode: RCODE.NXDOMAIN, authorities: [soa] };
    },
    53,
  );
  t.teardown(() => upstream.close());
  const resolvConf = path.join(tempDir(t, 'dns-e2e-'), 'resolv.conf');
  fs.writeFileSync(resolvConf, `nameserver ${lab.gateway}\nsearch upstream.test\n`);

  const c = await startCluster(t, ['--node-name', 'n0', '--resolv-conf', resolvConf], { agent: true, host: host0 });
  await startAgent(t, c, host1, { name: 'n1', args: ['--resolv-conf', resolvConf] });
  t.teardown(() => c.kubectl(['delete', 'pod', '--all', '--wait', '--timeout=90s']));

  const objects = [
    pod('web-0', 'n0', {}, { app: 'web' }),
    service('web', { selector: { app: 'web' }, ports: [{ name: 'http', port: 80, protocol: 'TCP' }] }),
    pod('db-a', 'n0', { hostname: 'db-a', subdomain: 'db' }, { app: 'db' }),
    pod('db-b', 'n1', { hostname: 'db-b', subdomain: 'db' }, { app: 'db' }),
    service('db', { clusterIP: 'None', selector: { app: 'db' }, ports: [{ name: 'pg', port: 5432 }] }),
    service('ext', { type: 'ExternalName', externalName: 'target.upstream.test' }),
    pod('client-0', 'n0'),
    pod('client-1', 'n1'),
  ];
  await c.kubectl(['apply', '-f', '-'], { input: objects.map((o) => JSON.stringify(o)).join('\n') }).then((r) => {
    if (r.code !== 0) throw new Error(r.stderr);
  });
  const ips: Record<string, string> = {};
  for (const name of ['web-0', 'db-a', 'db-b', 'client-0', 'client-1'])
    ips[name] = (await podWhen(c, name, (p) => p.status?.phase === 'Running' && !!p.status.podIP)).status.podIP;
  const webIP = JSON.parse(await c.k('get', 'service', 'web', '-o', 'json')).spec.clusterIP as string;

  await t.test("a pod's resolv.conf: the cluster DNS server, the search list with the host's, ndots:5", async (t) => {
    const conf = await c.k('exec', 'client-1', '--', 'cat', '/etc/resolv.conf');
    t.match(conf, /^nameserver 10\.43\.0\.10$/m);
    t.match(conf, /^search default\.svc\.cluster\.local svc\.cluster\.local cluster\.local upstream\.test$/m);
    t.match(conf, /^options ndots:5$/m);
  });

  await t.test('a Service by its full name, and by its short name through the search list', async (t) => {
    const address = new RegExp(`Name:\\s+web\\.default\\.svc\\.cluster\\.local\\s+Address:\\s+${webIP.replaceAll('.', '\\.')}\\b`);
    t.match(await lookupUntil(c, 'client-0', ['web.default.svc.cluster.local'], address), address);
    t.match(await lookupUntil(c, 'client-0', ['web'], address), address, 'web + default.svc.cluster.local');
    t.match(
      await lookupUntil(
        c,
        'client-1',
        ['-type=srv', '_http._tcp.web.default.svc.cluster.local'],
        /service = \d+ \d+ 80 web\.default\.svc\.cluster\.local/,
      ),
      /80 web/,
    );
    t.match(await lookupUntil(c, 'client-1', [webIP], /name = web\.default\.svc\.cluster\.local/), /name = web/, 'PTR of the ClusterIP');
  });

  await t.test("a headless Service: every ready endpoint, and a pod's <hostname>.<subdomain>", async (t) => {
    const both = (out: string) =>
      [ips['db-a']!, ips['db-b']!].every((ip) => new RegExp(`Address:\\s+${ip.replaceAll('.', '\\.')}\\b`).test(out));
    t.ok(both(await lookupUntil(c, 'client-0', ['db.default.svc.cluster.local'], both)), 'both endpoints');
    const dbB = new RegExp(`Name:\\s+db-b\\.db\\.default\\.svc\\.cluster\\.local\\s+Address:\\s+${ips['db-b']!.replaceAll('.', '\\.')}\\b`);
    t.match(await lookupUntil(c, 'client-0', ['db-b.db.default.svc.cluster.local'], dbB), dbB);
    t.match(
      await lookupUntil(c, 'client-1', [ips['db-a']!], /name = db-a\.db\.default\.svc\.cluster\.local/),
      /db-a\.db/,
      'PTR of an endpoint',
    );
  });

  await t.test('an ExternalName: the CNAME and its target from upstream', async (t) => {
    const out = await lookupUntil(c, 'client-1', ['ext.default.svc.cluster.local'], /Address:\s+192\.0\.2\.81\b/);
    t.match(out, /ext\.default\.svc\.cluster\.local\s+canonical name = target\.upstream\.test/);
  });

  await t.test('other names are forwarded to the upstream server; unknown cluster names are NXDOMAIN', async (t) => {
    t.match(await lookupUntil(c, 'client-0', ['www.upstream.test'], /Address:\s+192\.0\.2\.80\b/), /192\.0\.2\.80/);
    t.ok(upstream.asked.includes('udp www.upstream.test A'), 'the upstream was asked');
    // A short name goes through the cluster domains, then the host's own search domain (upstream).
    t.match(await lookupUntil(c, 'client-1', ['www'], /Name:\s+www\.upstream\.test\s+Address:\s+192\.0\.2\.80/), /www\.upstream\.test/);
    const nx = await c.kubectl(['exec', 'client-0', '--', 'nslookup', 'nope.default.svc.cluster.local']);
    t.not(nx.code, 0);
    t.match(nx.stdout + nx.stderr, /can't find nope\.default\.svc\.cluster\.local: NXDOMAIN/);
  });

  await t.test("each node answers its own pods: with n0's server cut off, n1's pods still resolve", async (t) => {
    for (const h of [host0, host1]) {
      const addr = await h.exec('ip', ['-4', '-o', 'addr', 'show', 'dev', 'skiff-dns']);
      t.match(addr.stdout, /inet 10\.43\.0\.10\/32/, `${h.name} holds the cluster DNS address`);
    }
    const drop = 'ip daddr 10.43.0.10 meta l4proto { udp, tcp } th dport 53 drop';
    const cut = `table inet skiff-dns-test { chain in { type filter hook input priority -50; ${drop}; }; }`;
    const added = await host0.exec('nft', ['-f', '-'], { input: cut });
    t.equal(added.code, 0, added.stderr);
    t.teardown(() => host0.exec('nft', ['delete', 'table', 'inet', 'skiff-dns-test']));
    const address = new RegExp(`Address:\\s+${webIP.replaceAll('.', '\\.')}\\b`);
    t.match(await nslookup(c, 'client-1', 'web.default.svc.cluster.local'), address, 'n1 answers');
    const blocked = await c.kubectl(['exec', 'client-0', '--', 'nslookup', '-timeout=1', '-retry=1', 'web.default.svc.cluster.local']);
    t.notMatch(blocked.stdout, address, 'n0 no longer answers its pods');
    await host0.exec('nft', ['delete', 'table', 'inet', 'skiff-dns-test']);
    t.match(await lookupUntil(c, 'client-0', ['web.default.svc.cluster.local'], address), address, 'n0 answers again');
  });
});

t.test('--disable coredns: no server and no address on the node (a leftover is removed); pods are still told 10.43.0.10', async (t) => {
  const lab = createNetLab(t, 1);
  const host = lab.hosts[0]!;
  // What an earlier run with cluster DNS would have left.
  t.equal((await host.exec('ip', ['link', 'add', 'skiff-dns', 'type', 'bridge'])).code, 0);
  const c = await startCluster(t, ['--node-name', 'n0', '--disable', 'coredns'], { agent: true, host });
  t.teardown(() => c.kubectl(['delete', 'pod', '--all', '--wait', '--timeout=90s']));
  t.notMatch((await host.exec('ip', ['-br', 'link'])).stdout, /skiff-dns/);
  const r = await c.kubectl(['apply', '-f', '-'], { input: JSON.stringify(pod('client', 'n0')) });
  t.equal(r.code, 0, r.stderr);
  await podWhen(c, 'client', (p) => p.status?.phase === 'Running');
  t.match(await c.k('exec', 'client', '--', 'cat', '/etc/resolv.conf'), /^nameserver 10\.43\.0\.10$/m);
  const udp = await host.exec('ss', ['-lnu']);
  t.notMatch(udp.stdout, /10\.43\.0\.10:53/, 'nothing listens on the cluster DNS address');
});
