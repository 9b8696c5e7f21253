// The pod network across nodes on real nodes, each in a network namespace of the test's own on one
// segment: vxlan on three nodes (flannel's annotations and kernel entries, pod to pod by TCP and
// ping with the client's address kept, host to pod, pod to another host masqueraded, the pods' MTU,
// an agent restart that keeps the VTEP, a node leaving with its entries), host-gw on two, and none
// (no device, rules or CNI config of ours; a CNI config of the user's makes the node Ready).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { cniConflist } from '../../src/agent/cni.js';
import { startAgent } from '../helpers/agents.js';
import { type Cluster, startCluster } from '../helpers/cluster.js';
import { eventually } from '../helpers/eventually.js';
import { createNetLab, type NetHost } from '../helpers/netlab.js';
import { BUSYBOX } from '../helpers/node-env.js';
import { podWhen } from '../helpers/pods.js';
import { tempDir } from '../helpers/tmp.js';

const PORT = 8080;
/** A CGI script answering with the address the request came from, as the server saw it. */
const WHOAMI = '#!/bin/sh\necho Content-Type: text/plain\necho\necho "from=$REMOTE_ADDR"\n';
/** The address from the script's answer (busybox httpd listens on IPv6 and writes `[::ffff:a.b.c.d]`). */
const seenIn = (answer: string) => /from=\[?(?:::ffff:)?([0-9.]+)\]?/.exec(answer)?.[1];
const HTTPD = [
  'mkdir -p /www/cgi-bin',
  `busybox printf '${WHOAMI.replaceAll('\n', '\\n')}' > /www/cgi-bin/ip`,
  'busybox chmod +x /www/cgi-bin/ip',
  `exec httpd -f -vv -p ${PORT} -h /www`,
].join(' && ');
const GET = `busybox printf 'GET /cgi-bin/ip HTTP/1.0\\r\\n\\r\\n'`;

const ANN = 'flannel.alpha.coreos.com/';

/** A web server pod on `node`, Running; answers its IP. */
async function webPod(c: Cluster, name: string, node: string): Promise<string> {
  const overrides = JSON.stringify({ spec: { nodeName: node, terminationGracePeriodSeconds: 1 } });
  await c.k('run', name, `--image=${BUSYBOX}`, '--overrides', overrides, '--', 'sh', '-c', HTTPD);
  return (await podWhen(c, name, (p) => p.status?.phase === 'Running' && !!p.status.podIP)).status.podIP;
}

/** The client address a web server at `ip` saw, asked from inside pod `from`. */
async function fromPod(c: Cluster, from: string, ip: string, port = PORT): Promise<string> {
  const r = await c.kubectl(['exec', from, '--', 'sh', '-c', `${GET} | nc -w 5 ${ip} ${port}`]);
  const seen = seenIn(r.stdout);
  if (!seen) throw new Error(`no answer from ${ip}:${port} in pod ${from}: ${r.code} ${r.stdout} ${r.stderr}`);
  return seen;
}

/** The same from a host's own namespace (the node itself). */
async function fromHost(host: NetHost, ip: string): Promise<string> {
  const r = await host.exec('sh', ['-c', `${GET} | busybox nc -w 5 ${ip} ${PORT}`]);
  const seen = seenIn(r.stdout);
  if (!seen) throw new Error(`no answer from ${ip} on host ${host.name}: ${r.code} ${r.stdout} ${r.stderr}`);
  return seen;
}

const ping = async (c: Cluster, from: string, ip: string) =>
  (await c.kubectl(['exec', from, '--', 'busybox', 'ping', '-c', '1', '-W', '3', ip])).code === 0;

const json = async (host: NetHost, command: string, args: string[]) => {
  const r = await host.exec(command, ['-j', ...args]);
  if (r.code !== 0) throw new Error(`${command} ${args.join(' ')} on ${host.name}: ${r.stderr}`);
  return JSON.parse(r.stdout.trim() || '[]');
};

async function nodesByName(c: Cluster): Promise<Record<string, any>> {
  const items = JSON.parse(await c.k('get', 'nodes', '-o', 'json')).items as any[];
  return Object.fromEntries(items.map((n) => [n.metadata.name, n]));
}

/** What the pod network put in a host's kernel for the pod range `range` (of the node with VTEP `mac`). */
async function entriesFor(host: NetHost, range: string, mac: string) {
  const vtep = range.replace(/\/\d+$/, '');
  return {
    route: (await json(host, 'ip', ['-4', 'route', 'show', range]))[0],
    neigh: (await json(host, 'ip', ['-4', 'neigh', 'show', 'dev', 'flannel.1'])).find((n: any) => n.dst === vtep),
    fdb: (await json(host, 'bridge', ['fdb', 'show', 'dev', 'flannel.1'])).find((f: any) => f.mac === mac),
  };
}

t.test('vxlan on three nodes: pods and hosts reach pods everywhere, a leaving node takes its entries', async (t) => {
  const lab = createNetLab(t, 3);
  const [h0, h1, h2] = lab.hosts as [NetHost, NetHost, NetHost];
  const hosts: Record<string, NetHost> = { n0: h0, n1: h1, n2: h2 };
  const c = await startCluster(t, ['--node-name', 'n0'], { agent: true, host: h0 });
  const a1 = await startAgent(t, c, h1, { name: 'n1' });
  const a2 = await startAgent(t, c, h2, { name: 'n2' });
  t.teardown(() => c.kubectl(['delete', 'pod', '--all', '--wait', '--timeout=90s']));

  const nodes = await eventually(
    async () => {
      const byName = await nodesByName(c);
      const all = Object.values(byName);
      return all.length === 3 && all.every((n) => n.metadata.annotations?.[`${ANN}kube-subnet-manager`] === 'true') ? byName : undefined;
    },
    { what: 'every node to publish its end of the pod network' },
  );
  const macs: Record<string, string> = {};
  for (const [name, n] of Object.entries(nodes)) {
    const a = n.metadata.annotations;
    t.equal(a[`${ANN}backend-type`], 'vxlan', `${name}: backend-type`);
    t.equal(a[`${ANN}public-ip`], hosts[name]!.ip, `${name}: public-ip is its node IP`);
    const data = JSON.parse(a[`${ANN}backend-data`]);
    t.same(Object.keys(data), ['VNI', 'VtepMAC'], `${name}: backend-data as flannel writes it`);
    t.equal(data.VNI, 1);
    const [link] = await json(hosts[name]!, 'ip', ['-d', 'link', 'show', 'flannel.1']);
    t.equal(data.VtepMAC, link.address, `${name}: the published MAC is its flannel.1's`);
    t.match(link.linkinfo.info_data, { id: 1, port: 8472, local: hosts[name]!.ip, link: 'eth0', learning: false });
    t.equal(link.mtu, 1450, `${name}: flannel.1's MTU is eth0's less 50`);
    macs[name] = data.VtepMAC;
  }

  for (const [name, host] of Object.entries(hosts)) {
    for (const [other, n] of Object.entries(nodes)) {
      if (other === name) continue;
      const range = n.spec.podCIDR;
      const e = await eventually(
        async () => {
          const e = await entriesFor(host, range, macs[other]!);
          return e.route && e.neigh && e.fdb && e;
        },
        { what: `${name} to have its entries for ${other}` },
      );
      t.match(e.route, { gateway: range.replace(/\/\d+$/, ''), dev: 'flannel.1', flags: ['onlink'] }, `${name}: route to ${other}'s pods`);
      t.match(e.neigh, { lladdr: macs[other], state: ['PERMANENT'] }, `${name}: neighbour for ${other}'s VTEP`);
      t.match(e.fdb, { dst: hosts[other]!.ip }, `${name}: FDB entry to ${other}'s node IP`);
    }
  }

  const ips: Record<string, string> = {};
  for (const n of ['n0', 'n1', 'n2']) ips[n] = await webPod(c, `web-${n}`, n);
  const mtu = await c.kubectl(['exec', 'web-n0', '--', 'cat', '/sys/class/net/eth0/mtu']);
  t.equal(mtu.stdout.trim(), '1450', "pods get the tunnel's MTU");

  for (const [from, to] of [
    ['n0', 'n1'],
    ['n1', 'n2'],
    ['n2', 'n0'],
  ] as const) {
    const seen = await eventually(() => fromPod(c, `web-${from}`, ips[to]!), { what: `web-${from} to reach web-${to}` });
    t.equal(seen, ips[from], `pod on ${from} → pod on ${to} over TCP, its own address kept`);
    t.ok(await ping(c, `web-${to}`, ips[from]!), `ping from the pod on ${to} to the pod on ${from}`);
  }

  const vtep1 = nodes.n1.spec.podCIDR.replace(/\/\d+$/, '');
  t.equal(await fromHost(h1, ips.n0!), vtep1, "n1's host reaches the pod on n0 (from its flannel.1 address)");
  t.ok(await fromHost(h0, ips.n2!), "n0's host reaches the pod on n2");

  // A web server on n1's host, outside the cluster range: pods reach it masqueraded as their node.
  const www = tempDir(t, 'skiff-www-');
  fs.mkdirSync(path.join(www, 'cgi-bin'));
  fs.writeFileSync(path.join(www, 'cgi-bin', 'ip'), WHOAMI, { mode: 0o755 });
  const hostHttpd = spawn(h1.enter[0]!, [...h1.enter.slice(1), 'busybox', 'httpd', '-f', '-p', '18080', '-h', www], { stdio: 'ignore' });
  t.teardown(() => void hostHttpd.kill());
  const seen = await eventually(() => fromPod(c, 'web-n0', h1.ip, 18080), { what: "the pod on n0 to reach n1's host" });
  t.equal(seen, h0.ip, "pod → another node's host IP leaves masqueraded as its node");
  t.ok(await ping(c, 'web-n2', h0.ip), "ping from a pod to another node's host IP");

  // An agent restart keeps the VTEP (and so every other node's entries for it).
  const linkBefore = (await json(h1, 'ip', ['link', 'show', 'flannel.1']))[0];
  await a1.restart();
  t.equal((await json(h1, 'ip', ['link', 'show', 'flannel.1']))[0].ifindex, linkBefore.ifindex, 'the restarted agent kept its device');
  const after = await nodesByName(c);
  t.equal(JSON.parse(after.n1.metadata.annotations[`${ANN}backend-data`]).VtepMAC, macs.n1, 'and its MAC');
  t.equal(await fromPod(c, 'web-n0', ips.n1!), ips.n0, 'pods still reach the restarted node’s pods');

  // n2 leaves: its pods first, then the agent, then the Node.
  await c.k('delete', 'pod', 'web-n2', '--wait', '--timeout=90s');
  await a2.stop();
  await c.k('delete', 'node', 'n2');
  for (const [name, host] of [
    ['n0', h0],
    ['n1', h1],
  ] as const) {
    const e = await eventually(
      async () => {
        const e = await entriesFor(host, nodes.n2.spec.podCIDR, macs.n2!);
        return !e.route && !e.neigh && !e.fdb && e;
      },
      { what: `${name} to drop its route, neighbour and FDB entry for n2` },
    );
    t.same(e, { route: undefined, neigh: undefined, fdb: undefined }, `${name}: n2's entries are gone`);
  }
  t.equal(await fromPod(c, 'web-n1', ips.n0!), ips.n1, 'the remaining nodes still reach each other');
});

t.test('host-gw on two nodes: plain routes via the other node, pods reach pods', async (t) => {
  const lab = createNetLab(t, 2);
  const [h0, h1] = lab.hosts as [NetHost, NetHost];
  const c = await startCluster(t, ['--node-name', 'n0', '--flannel-backend', 'host-gw'], { agent: true, host: h0 });
  await startAgent(t, c, h1, { name: 'n1' });
  t.teardown(() => c.kubectl(['delete', 'pod', '--all', '--wait', '--timeout=90s']));

  const nodes = await eventually(
    async () => {
      const byName = await nodesByName(c);
      return Object.values(byName).filter((n) => n.metadata.annotations?.[`${ANN}public-ip`]).length === 2 ? byName : undefined;
    },
    { what: 'both nodes to publish their end' },
  );
  t.equal(nodes.n1.metadata.annotations[`${ANN}backend-type`], 'host-gw');
  t.equal(nodes.n1.metadata.annotations[`${ANN}backend-data`], 'null', 'host-gw has no backend data, as flannel writes it');
  for (const [host, other, via] of [
    [h0, nodes.n1, h1.ip],
    [h1, nodes.n0, h0.ip],
  ] as const) {
    const route = await eventually(async () => (await json(host, 'ip', ['-4', 'route', 'show', other.spec.podCIDR]))[0], {
      what: `a route to ${other.metadata.name}'s pods on ${host.name}`,
    });
    t.match(route, { gateway: via, dev: 'eth0' }, `${host.name}: ${other.spec.podCIDR} via ${via}`);
    t.not((await host.exec('ip', ['link', 'show', 'flannel.1'])).code, 0, `${host.name}: no VTEP under host-gw`);
  }

  const ip0 = await webPod(c, 'web-n0', 'n0');
  const ip1 = await webPod(c, 'web-n1', 'n1');
  t.equal(await eventually(() => fromPod(c, 'web-n0', ip1), { what: 'web-n0 to reach web-n1' }), ip0, 'pod → pod, its address kept');
  t.equal(await fromPod(c, 'web-n1', ip0), ip1, 'and back');
  t.ok(await ping(c, 'web-n1', ip0), 'ping across');
  t.equal(await fromHost(h1, ip0), h1.ip, "n1's host reaches the pod on n0 from its node IP");
});

t.test('none: no device, rules or CNI config of ours; the CNI config the user installs makes the node Ready', async (t) => {
  const lab = createNetLab(t, 1);
  const [h0] = lab.hosts as [NetHost];
  const c = await startCluster(t, ['--node-name', 'n0', '--flannel-backend', 'none'], { agent: true, host: h0 });
  t.teardown(() => c.kubectl(['delete', 'pod', '--all', '--wait', '--timeout=90s']));
  const node = await eventually(async () => (await nodesByName(c)).n0?.spec?.podCIDR && (await nodesByName(c)).n0, {
    what: 'n0 to get its pod range',
  });
  const confDir = path.join(c.dataDir, 'agent', 'etc', 'cni', 'net.d');
  const ready = (n: any) => n.status.conditions.find((x: any) => x.type === 'Ready');
  const notReady = await eventually(async () => {
    const r = ready((await nodesByName(c)).n0);
    return r?.status === 'False' && r;
  });
  t.match(notReady.message, /network/i, 'NotReady until a CNI config is there, and says so');
  t.same(fs.existsSync(confDir) ? fs.readdirSync(confDir) : [], [], 'the agent wrote no CNI config');
  t.not((await h0.exec('ip', ['link', 'show', 'flannel.1'])).code, 0, 'no VTEP');
  t.not((await h0.exec('nft', ['list', 'table', 'ip', 'skiff-podnet'])).code, 0, 'no masquerading table');
  t.notOk(
    Object.keys(node.metadata.annotations ?? {}).some((k) => k.startsWith(ANN)),
    'no flannel annotations',
  );

  // The user's CNI: here a plain bridge config for the node's range, dropped where containerd reads.
  fs.mkdirSync(confDir, { recursive: true });
  const own = cniConflist({ podCIDR: node.spec.podCIDR, bridge: c.node!.args[1], ipamDataDir: path.join(c.dataDir, 'byo-cni') });
  fs.writeFileSync(path.join(confDir, '10-mycni.conflist'), JSON.stringify({ ...own, name: 'mycni' }));
  await eventually(async () => ready((await nodesByName(c)).n0)?.status === 'True', { what: 'n0 to be Ready with the user’s CNI' });
  const ip0 = await webPod(c, 'web-n0', 'n0');
  t.equal(await eventually(() => fromHost(h0, ip0), { what: 'the host to reach the pod' }), node.spec.podCIDR.replace(/0\/24$/, '1'));
});
