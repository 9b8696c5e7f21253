// skiff check-config on made-up machines: each check decides from files and programs alone, and the
// report is a line per check (colors only when asked for) with a summary that counts what is missing.
import t from 'tap';
import { checkConfig, formatReport, listeningPorts, mountOf, type CheckInputs, type SystemView } from '../../src/cli/tools/check-config.js';

const RELEASE = '6.6.31+rpt-rpi-v8';
const PROGRAMS = ['containerd', 'runc', 'nft', 'ip', 'ctr', 'iptables', 'kubectl'];

/** A healthy machine: modules in /lib/modules, cgroup v2, programs and plugins in place. */
function machine(
  files: Record<string, string | undefined> = {},
  opts: { programs?: string[]; free?: number; config?: string } = {},
): SystemView {
  const all: Record<string, string | undefined> = {
    '/proc/modules': 'overlay 163840 0 - Live 0x0\nbr_netfilter 32768 0 - Live 0x0\nbridge 311296 1 br_netfilter, Live 0x0\n',
    [`/lib/modules/${RELEASE}/modules.builtin`]: 'kernel/net/netfilter/nf_conntrack.ko\n',
    [`/lib/modules/${RELEASE}/modules.dep`]:
      'kernel/drivers/net/veth.ko.xz:\nkernel/drivers/net/vxlan/vxlan.ko.xz: kernel/net/ipv4/udp_tunnel.ko.xz\n' +
      'kernel/net/netfilter/nf_nat.ko.xz:\nkernel/net/netfilter/nf_tables.ko.xz:\n',
    '/proc/sys/net/ipv4/ip_forward': '1\n',
    '/proc/sys/net/bridge/bridge-nf-call-iptables': '1\n',
    '/sys/fs/cgroup/cgroup.controllers': 'cpuset cpu io memory hugetlb pids rdma misc\n',
    '/proc/net/tcp': '  sl  local_address rem_address   st\n   0: 00000000:0016 00000000:0000 0A 00000000:00000000\n',
    '/proc/self/mounts': '/dev/mmcblk0p2 / ext4 rw,noatime 0 0\ntmpfs /run tmpfs rw 0 0\n',
    '/usr/lib/cni/bridge': '',
    '/usr/lib/cni/host-local': '',
    '/usr/lib/cni/loopback': '',
    '/usr/lib/cni/portmap': '',
    '/var/lib': '',
    ...files,
  };
  const programs = opts.programs ?? PROGRAMS;
  return {
    read: (f) => all[f],
    exists: (f) => all[f] !== undefined,
    kernelRelease: RELEASE,
    kernelConfig: opts.config,
    which: (name) => (programs.includes(name) ? `/usr/bin/${name}` : undefined),
    freeBytes: () => opts.free ?? 20e9,
  };
}

const INPUTS: CheckInputs = {
  dataDir: '/var/lib/skiff',
  cniBinDir: '/usr/lib/cni',
  ports: [
    { port: 6443, protocol: 'tcp', what: 'API server', flag: '--https-listen-port' },
    { port: 22, protocol: 'tcp', what: 'a test port' },
  ],
};

const line = (report: string, name: string) => report.split('\n').find((l) => l.startsWith(`- ${name}:`));

t.test('a healthy machine: every line ok, but a busy port warns', async (t) => {
  const results = checkConfig(machine(), INPUTS);
  const report = formatReport(results, false);
  t.equal(line(report, 'overlay'), '- overlay: ok (loaded)');
  t.equal(line(report, 'nf_conntrack'), '- nf_conntrack: ok (built in)');
  t.equal(line(report, 'vxlan'), '- vxlan: ok (module, loaded when needed)');
  t.equal(line(report, 'cgroups'), '- cgroups: ok (v2 (unified))');
  t.equal(line(report, 'memory'), '- memory: ok (enabled)');
  t.equal(line(report, 'runc'), '- runc: ok (/usr/bin/runc)');
  t.equal(line(report, 'portmap'), '- portmap: ok (/usr/lib/cni/portmap)');
  t.equal(line(report, '6443/tcp'), '- 6443/tcp: ok (free, API server)');
  t.match(line(report, '22/tcp'), /^- 22\/tcp: warning: in use: fine if Skiff runs already; else stop what holds it \(a test port\)$/);
  t.equal(line(report, '/var/lib/skiff'), '- /var/lib/skiff: ok (ext4, 20.0 GB free)');
  t.match(report, /^Kernel modules:\n- overlay/);
  t.match(report, /\n\nCgroups:\n/);
  t.match(report, /\nEverything Skiff needs is here \(1 warning\)\n$/);
  t.notOk(report.includes('\x1b['), 'no colors unless asked');
  t.match(formatReport(results, true), '- overlay: \x1b[32mok\x1b[0m (loaded)');
});

t.test('a Raspberry Pi without the memory cgroup is told how to fix its cmdline.txt', async (t) => {
  const v = machine({
    '/sys/fs/cgroup/cgroup.controllers': 'cpuset cpu io pids\n',
    '/boot/firmware/cmdline.txt': 'console=tty1 root=PARTUUID=x',
  });
  const report = formatReport(checkConfig(v, INPUTS), false);
  t.equal(
    line(report, 'memory'),
    '- memory: missing: add "cgroup_memory=1 cgroup_enable=memory" to the line in /boot/firmware/cmdline.txt and reboot',
  );
  t.match(report, /\n1 required item is missing: Skiff cannot run a node here until they are fixed\n$/);
  const pc = machine({ '/sys/fs/cgroup/cgroup.controllers': 'cpu pids\n' });
  t.match(line(formatReport(checkConfig(pc, INPUTS), false), 'memory'), /GRUB_CMDLINE_LINUX/);
});

t.test('cgroup v1 reads /proc/cgroups, whose last column says enabled', async (t) => {
  const v = machine({
    '/sys/fs/cgroup/cgroup.controllers': undefined,
    '/proc/cgroups': '#subsys_name\thierarchy\tnum_cgroups\tenabled\ncpu\t1\t13\t1\nmemory\t4\t109\t0\npids\t8\t13\t1\n',
  });
  const results = checkConfig(v, INPUTS).filter((r) => r.section === 'Cgroups');
  t.same(
    results.map((r) => `${r.name}=${r.level}`),
    ['cgroups=ok', 'cpu=ok', 'memory=fail', 'pids=ok'],
  );
});

t.test('a kernel without a part fails; one we cannot see into warns; the kernel config counts', async (t) => {
  const noVxlan = machine({
    [`/lib/modules/${RELEASE}/modules.dep`]:
      'kernel/drivers/net/veth.ko:\nkernel/net/netfilter/nf_nat.ko:\nkernel/net/netfilter/nf_tables.ko:\n',
  });
  const vxlan = checkConfig(noVxlan, INPUTS).find((r) => r.name === 'vxlan')!;
  t.equal(vxlan.level, 'fail');
  t.match(vxlan.text, /CONFIG_VXLAN/);
  const blind = machine({
    '/proc/modules': undefined,
    [`/lib/modules/${RELEASE}/modules.builtin`]: undefined,
    [`/lib/modules/${RELEASE}/modules.dep`]: undefined,
  });
  t.equal(checkConfig(blind, INPUTS).find((r) => r.name === 'veth')!.level, 'warn');
  const configured = machine(
    {
      '/proc/modules': undefined,
      [`/lib/modules/${RELEASE}/modules.builtin`]: undefined,
      [`/lib/modules/${RELEASE}/modules.dep`]: undefined,
    },
    { config: 'CONFIG_VETH=y\nCONFIG_VXLAN=m\n' },
  );
  const byName = new Map(checkConfig(configured, INPUTS).map((r) => [r.name, r]));
  t.equal(byName.get('veth')!.text, 'built in');
  t.equal(byName.get('vxlan')!.text, 'module, loaded when needed');
  t.equal(byName.get('overlay')!.level, 'fail', 'absent from a readable kernel config');
});

t.test('sysctls: off is a warning (the agent turns them on), absent forwarding a failure', async (t) => {
  const off = checkConfig(
    machine({ '/proc/sys/net/ipv4/ip_forward': '0\n', '/proc/sys/net/bridge/bridge-nf-call-iptables': undefined }),
    INPUTS,
  );
  t.match(
    off.find((r) => r.name === 'net.ipv4.ip_forward'),
    { level: 'warn', text: /is 0: .*\/etc\/sysctl\.d/ },
  );
  t.match(
    off.find((r) => r.name === 'net.bridge.bridge-nf-call-iptables'),
    { level: 'ok', text: /not loaded yet/ },
  );
  t.match(
    checkConfig(machine({ '/proc/sys/net/ipv4/ip_forward': undefined }), INPUTS).find((r) => r.name === 'net.ipv4.ip_forward'),
    { level: 'fail' },
  );
});

t.test('programs and CNI plugins: required ones fail, optional ones warn, plugins elsewhere get a link', async (t) => {
  const v = machine(
    { '/usr/lib/cni/portmap': undefined, '/opt/cni/bin/portmap': '', '/usr/lib/cni/loopback': undefined },
    { programs: ['containerd', 'nft', 'ip'] },
  );
  const byName = new Map(checkConfig(v, INPUTS).map((r) => [r.name, r]));
  t.match(byName.get('runc'), { level: 'fail', text: 'not found: apt install runc' });
  t.match(byName.get('kubectl'), { level: 'warn', text: /kubernetes-client/ });
  t.match(byName.get('portmap'), { level: 'fail', text: 'only in /opt/cni/bin: ln -s /opt/cni/bin/portmap /usr/lib/cni/portmap' });
  t.match(byName.get('loopback'), { level: 'fail', text: /containernetworking-plugins/ });
  t.match(formatReport(checkConfig(v, INPUTS), false), /\n3 required items are missing/);
});

t.test('the data dir: its mount, tmpfs and little space warn', async (t) => {
  const v = machine({ '/run/skiff': '' }, { free: 5e8 });
  const results = checkConfig(v, { ...INPUTS, dataDir: '/run/skiff/data' }).filter((r) => r.section === 'Data dir');
  t.match(results, [
    { name: '/run/skiff/data', level: 'warn', text: /on tmpfs: the cluster's state is lost at reboot/ },
    { name: 'free space', level: 'warn', text: 'only 0.5 GB free under /run/skiff: images and logs need room' },
  ]);
  const mounts = machine({ '/proc/self/mounts': '/dev/sda1 / ext4 rw 0 0\n/dev/sdb1 /mnt/my\\040disk xfs rw 0 0\n' });
  t.same(mountOf(mounts, '/mnt/my disk/skiff'), { mountPoint: '/mnt/my disk', type: 'xfs' });
  t.same(mountOf(mounts, '/mnt/my diskette'), { mountPoint: '/', type: 'ext4' }, 'a prefix of a name is not its mount');
});

t.test('listening ports from /proc/net: TCP in LISTEN, UDP bound, both address families', async (t) => {
  const v = machine({
    '/proc/net/tcp': '  sl  local_address rem_address   st\n   0: 0100007F:1F90 00000000:0000 0A\n   1: 0100007F:0050 0100007F:9C40 01\n',
    '/proc/net/tcp6':
      '  sl  local_address rem_address   st\n   0: 00000000000000000000000000000000:192B 00000000000000000000000000000000:0000 0A\n',
    '/proc/net/udp': '  sl  local_address rem_address   st\n   0: 00000000:2118 00000000:0000 07\n',
  });
  t.same([...listeningPorts(v, 'tcp')].sort(), [6443, 8080]);
  t.same([...listeningPorts(v, 'udp')], [8472]);
});
