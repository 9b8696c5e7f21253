// skiff-killall.sh on a node that ran pods: a real server with its agent in a network lab host (its
// devices and nftables are that namespace's alone, so that deleting them by name, as the script does,
// leaves concurrent tests' nodes be), stopped without deleting its pod; the script install.sh wrote
// for that data dir then leaves no container, shim, mount, network device or rule of the node.
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { startCluster } from '../helpers/cluster.js';
import { createNetLab } from '../helpers/netlab.js';
import { BUSYBOX } from '../helpers/node-env.js';
import { podWhen } from '../helpers/pods.js';
import { finish, repoRoot } from '../helpers/run.js';
import { tempDir } from '../helpers/tmp.js';

/** Every process: pid, parent and command line. */
function processes(): { pid: string; ppid: string; args: string }[] {
  return fs.readdirSync('/proc').flatMap((pid) => {
    if (!/^\d+$/.test(pid)) return [];
    try {
      const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      const args = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
      return [{ pid, ppid: stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]!, args }];
    } catch {
      return []; // gone meanwhile
    }
  });
}

const mountsUnder = (dir: string) =>
  fs
    .readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter((l) => l.split(' ')[4]?.startsWith(`${dir}/`));

t.test('killall stops the pods, shims and containerd, unmounts, removes the devices and rules, keeps the data', async (t) => {
  const [host] = createNetLab(t, 1).hosts;
  const c = await startCluster(t, ['--node-name', 'killall'], { agent: true, host: host! });
  await c.kubectl(['apply', '-f', '-'], {
    input: `apiVersion: v1
kind: Pod
metadata: {name: sleeper}
spec:
  containers:
  - {name: main, image: ${BUSYBOX}, command: [sleep, '3600'], ports: [{containerPort: 8080, hostPort: 18080}]}
`,
  });
  await podWhen(c, 'sleeper', (p) => p.status?.phase === 'Running');
  await c.k('create', 'service', 'clusterip', 'web', '--tcp', '80:8080');

  // The pod's processes and network namespace, found from its shim as the script finds them.
  const socket = c.node!.socket;
  const shims = processes().filter((p) => p.args.includes(`-address ${socket}`));
  t.ok(shims.length > 0, 'the pod runs under a shim of the node containerd');
  const podProcesses = processes().filter((p) => shims.some((s) => s.pid === p.ppid));
  const podNetns = new Set(podProcesses.map((p) => fs.readlinkSync(`/proc/${p.pid}/ns/net`)));
  podNetns.delete(fs.readlinkSync(`/proc/${shims[0]!.pid}/ns/net`));
  t.equal(podNetns.size, 1, 'the pod has a network namespace of its own');
  const links = async () => (await host!.exec('ip', ['-br', 'link'])).stdout;
  t.match(await links(), /flannel\.1/, 'the node made its pod network');
  const tables = (await host!.exec('nft', ['list', 'tables'])).stdout;
  for (const table of ['ip skiff-podnet', 'ip skiff-services']) t.match(tables, `table ${table}`, `the node made ${table}`);
  t.match((await host!.exec('iptables-save', [])).stdout, /CNI-HOSTPORT/, 'the hostPort has its rules');
  t.ok(mountsUnder(c.dataDir).length > 0, 'the node mounted container file systems under its data dir');

  // Stopped as a service stop does: the pod goes on running.
  await c.stop('SIGTERM');
  t.ok(
    processes().some((p) => p.args.includes(`-address ${socket}`)),
    'the shim outlived the server',
  );

  const dir = tempDir(t, 'skiff-killall-');
  const bin = path.join(dir, 'bin');
  const fakes = path.join(dir, 'fakes');
  fs.mkdirSync(bin);
  fs.mkdirSync(fakes);
  fs.writeFileSync(path.join(bin, 'skiff'), '#!/bin/sh\necho skiff\n', { mode: 0o755 });
  fs.writeFileSync(path.join(fakes, 'systemctl'), '#!/bin/sh\n', { mode: 0o755 });
  const PATH = `${fakes}:/usr/sbin:/usr/bin:/sbin:/bin`;
  const install = spawn('sh', [path.join(repoRoot, 'packaging/install.sh')], {
    env: {
      PATH,
      INSTALL_SKIFF_SKIP_DOWNLOAD: 'true',
      INSTALL_SKIFF_SKIP_DEPS: 'true',
      INSTALL_SKIFF_SKIP_ENABLE: 'true',
      INSTALL_SKIFF_BIN_DIR: bin,
      INSTALL_SKIFF_SYSTEMD_DIR: path.join(dir, 'systemd'),
      INSTALL_SKIFF_CONFIG_DIR: path.join(dir, 'etc'),
      SKIFF_DATA_DIR: c.dataDir,
    },
  });
  const installed = await finish(install);
  t.equal(installed.code, 0, installed.stderr);

  const r = await finish(spawn(host!.enter[0]!, [...host!.enter.slice(1), 'sh', path.join(bin, 'skiff-killall.sh')], { env: { PATH } }));
  t.equal(r.code, 0, r.stderr);

  const left = processes();
  t.same(
    left.filter((p) => p.args.includes(socket) || p.args.includes(`${c.dataDir}/agent/containerd/config.toml`)),
    [],
    'no containerd or shim',
  );
  t.same(
    left.filter((p) => podProcesses.some((q) => q.pid === p.pid && q.args === p.args)),
    [],
    'no pod process',
  );
  t.same(mountsUnder(c.dataDir), [], 'nothing mounted under the data dir');
  const mountinfo = fs.readFileSync('/proc/self/mountinfo', 'utf8');
  t.notOk(
    [...podNetns].some((ns) => mountinfo.includes(` ${ns} `)),
    "the pod's network namespace is unmounted",
  );
  t.same(
    (await links())
      .split('\n')
      .filter(Boolean)
      .map((l) => l.split(/[\s@]+/)[0])
      .sort(),
    ['eth0', 'lo'],
    'no bridge, veth, flannel.1 or skiff-dns',
  );
  t.notMatch((await host!.exec('nft', ['list', 'tables'])).stdout, /skiff/, 'no nftables table of Skiff');
  t.notMatch((await host!.exec('iptables-save', [])).stdout, /CNI-/, 'no CNI rule (hostPort)');
  t.ok(fs.existsSync(path.join(c.dataDir, 'server')), 'the data stays');
  t.ok(execFileSync('ls', [path.join(c.dataDir, 'agent', 'containerd')]).length > 0, "containerd's store stays");
});
