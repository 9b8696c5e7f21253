// `skiff check-config`: whether this machine can run a Skiff node, as K3s's check-config. Each check
// is a pure function of a SystemView (files, programs on PATH, free space), so that tests can hand it
// any machine; check-config-command.ts gives it the real one. A required item that is missing is a
// failure (the node would not work); a warning is something that works now but may bite later.
export interface SystemView {
  /** A file's text, or undefined when it cannot be read. */
  read(file: string): string | undefined;
  exists(file: string): boolean;
  /** `uname -r`. */
  kernelRelease: string;
  /** The kernel's build configuration (/proc/config.gz or /boot/config-<release>), if it can be read. */
  kernelConfig: string | undefined;
  /** Where `name` is on PATH, if it is. */
  which(name: string): string | undefined;
  /** Free bytes of the file system holding `dir`, which exists. */
  freeBytes(dir: string): number;
}

export type Level = 'ok' | 'warn' | 'fail';

export interface CheckResult {
  section: string;
  name: string;
  level: Level;
  /** What was found (ok), or what to do about it. */
  text: string;
}

export interface CheckInputs {
  dataDir: string;
  /** Where the node's containerd looks for CNI plugins. */
  cniBinDir: string;
  /** Ports the node listens on. */
  ports: { port: number; protocol: 'tcp' | 'udp'; what: string; flag?: string }[];
}

const result =
  (section: string) =>
  (name: string, level: Level, text: string): CheckResult => ({ section, name, level, text });

/** Kernel parts a node uses, by module name and the kernel config symbol that builds them. */
const MODULES: [name: string, config: string, why: string][] = [
  ['overlay', 'OVERLAY_FS', "containerd's overlayfs snapshotter"],
  ['bridge', 'BRIDGE', 'the pod bridge'],
  ['br_netfilter', 'BRIDGE_NETFILTER', 'Service rules for traffic across the pod bridge'],
  ['veth', 'VETH', "pods' network devices"],
  ['vxlan', 'VXLAN', 'the pod network across nodes'],
  ['nf_conntrack', 'NF_CONNTRACK', 'Services and NAT'],
  ['nf_nat', 'NF_NAT', 'Services and NAT'],
  ['nf_tables', 'NF_TABLES', 'the firewall rules (nftables)'],
];

export function kernelChecks(v: SystemView): CheckResult[] {
  const r = result('Kernel modules');
  const loaded = new Set((v.read('/proc/modules') ?? '').split('\n').map((l) => l.split(' ')[0]));
  const modulesDir = `/lib/modules/${v.kernelRelease}`;
  const builtin = v.read(`${modulesDir}/modules.builtin`);
  const dep = v.read(`${modulesDir}/modules.dep`);
  return MODULES.map(([name, symbol, why]) => {
    // File names may spell the module with dashes; the kernel treats - and _ alike.
    const file = new RegExp(`/${name.replace(/_/g, '[-_]')}\\.ko`);
    const config = v.kernelConfig?.match(new RegExp(`^CONFIG_${symbol}=([ym])$`, 'm'))?.[1];
    if (loaded.has(name)) return r(name, 'ok', 'loaded');
    if (config === 'y' || (builtin && file.test(builtin))) return r(name, 'ok', 'built in');
    if (config === 'm' || (dep && file.test(dep))) return r(name, 'ok', 'module, loaded when needed');
    // /sys/module names built-in parts that have parameters, and every loaded module.
    if (v.exists(`/sys/module/${name}`)) return r(name, 'ok', 'built in');
    if (v.kernelConfig === undefined && dep === undefined)
      return r(name, 'warn', `cannot tell: no /proc/modules entry, kernel config or ${modulesDir}; ${why} needs it`);
    return r(name, 'fail', `the kernel lacks it (CONFIG_${symbol}), needed for ${why}: use a kernel built with it`);
  });
}

export function sysctlChecks(v: SystemView): CheckResult[] {
  const r = result('Sysctls');
  const forward = v.read('/proc/sys/net/ipv4/ip_forward')?.trim();
  const bridge = v.read('/proc/sys/net/bridge/bridge-nf-call-iptables')?.trim();
  const keep = (key: string) => `the agent turns it on at start; to keep it on, put ${key}=1 in /etc/sysctl.d/90-skiff.conf`;
  return [
    forward === undefined
      ? r('net.ipv4.ip_forward', 'fail', 'the kernel has no IPv4 forwarding')
      : forward === '1'
        ? r('net.ipv4.ip_forward', 'ok', '1')
        : r('net.ipv4.ip_forward', 'warn', `is ${forward}: ${keep('net.ipv4.ip_forward')}`),
    bridge === undefined
      ? r('net.bridge.bridge-nf-call-iptables', 'ok', 'br_netfilter is not loaded yet; the agent loads it and turns this on')
      : bridge === '1'
        ? r('net.bridge.bridge-nf-call-iptables', 'ok', '1')
        : r('net.bridge.bridge-nf-call-iptables', 'warn', `is ${bridge}: ${keep('net.bridge.bridge-nf-call-iptables')}`),
  ];
}

const REQUIRED_CONTROLLERS = ['cpu', 'memory', 'pids'];

/** How to turn the memory cgroup on: on a Raspberry Pi in its cmdline.txt, elsewhere on the kernel's command line. */
function memoryCgroupFix(v: SystemView): string {
  const cmdline = ['/boot/firmware/cmdline.txt', '/boot/cmdline.txt'].find((f) => v.exists(f));
  if (cmdline) return `add "cgroup_memory=1 cgroup_enable=memory" to the line in ${cmdline} and reboot`;
  return 'boot with cgroup_enable=memory (e.g. GRUB_CMDLINE_LINUX in /etc/default/grub, then update-grub) and reboot';
}

export function cgroupChecks(v: SystemView): CheckResult[] {
  const r = result('Cgroups');
  const v2 = v.read('/sys/fs/cgroup/cgroup.controllers');
  // cgroup v1 lists each controller with an enabled column: "memory 4 109 1".
  const v1 = (v.read('/proc/cgroups') ?? '')
    .split('\n')
    .map((l) => l.split(/\s+/))
    .filter((f) => f.length >= 4 && f[3] === '1')
    .map((f) => f[0]!);
  const version = v2 !== undefined ? 'v2' : 'v1';
  const available = new Set(v2 !== undefined ? v2.trim().split(/\s+/) : v1);
  if (v2 === undefined && v1.length === 0) return [r('cgroups', 'fail', 'no cgroup file system at /sys/fs/cgroup: mount cgroup2 there')];
  return [
    r('cgroups', 'ok', version === 'v2' ? 'v2 (unified)' : 'v1'),
    ...REQUIRED_CONTROLLERS.map((c) =>
      available.has(c)
        ? r(c, 'ok', 'enabled')
        : r(c, 'fail', c === 'memory' ? memoryCgroupFix(v) : `the ${c} controller is off: boot with cgroup_enable=${c}`),
    ),
  ];
}

const PROGRAMS: [name: string, required: boolean, fix: string][] = [
  ['containerd', true, 'apt install containerd'],
  ['runc', true, 'apt install runc'],
  ['nft', true, 'apt install nftables'],
  ['ip', true, 'apt install iproute2'],
  ['ctr', false, 'it comes with containerd (apt install containerd): air-gap image tarballs and skiff ctr need it'],
  ['iptables', false, 'apt install iptables: only tools outside Skiff that still use iptables need it'],
  ['kubectl', false, 'apt install kubernetes-client: skiff kubectl runs it'],
];

export function programChecks(v: SystemView): CheckResult[] {
  const r = result('Programs');
  return PROGRAMS.map(([name, required, fix]) => {
    const found = v.which(name);
    return found ? r(name, 'ok', found) : r(name, required ? 'fail' : 'warn', `not found: ${fix}`);
  });
}

const CNI_PLUGINS = ['bridge', 'host-local', 'loopback', 'portmap'];

export function cniChecks(v: SystemView, cniBinDir: string): CheckResult[] {
  const r = result('CNI plugins');
  return CNI_PLUGINS.map((name) => {
    const file = `${cniBinDir}/${name}`;
    if (v.exists(file)) return r(name, 'ok', file);
    const elsewhere = `/opt/cni/bin/${name}`;
    if (v.exists(elsewhere)) return r(name, 'fail', `only in /opt/cni/bin: ln -s ${elsewhere} ${file}`);
    return r(name, 'fail', `not in ${cniBinDir}: apt install containernetworking-plugins`);
  });
}

/** Ports something listens on, from /proc/net/{tcp,tcp6,udp,udp6}: "sl local_address rem_address st ...". */
export function listeningPorts(v: SystemView, protocol: 'tcp' | 'udp'): Set<number> {
  // TCP sockets listen in state 0A; UDP ones are bound in 07.
  const state = protocol === 'tcp' ? '0A' : '07';
  const ports = new Set<number>();
  for (const file of [`/proc/net/${protocol}`, `/proc/net/${protocol}6`]) {
    for (const line of (v.read(file) ?? '').split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      if (fields[3] === state) ports.add(parseInt(fields[1]!.split(':')[1]!, 16));
    }
  }
  return ports;
}

export function portChecks(v: SystemView, ports: CheckInputs['ports']): CheckResult[] {
  const r = result('Ports');
  const busy = { tcp: listeningPorts(v, 'tcp'), udp: listeningPorts(v, 'udp') };
  return ports.map(({ port, protocol, what, flag }) =>
    busy[protocol].has(port)
      ? r(
          `${port}/${protocol}`,
          'warn',
          `in use: fine if Skiff runs already; else stop what holds it${flag ? ` or choose another with ${flag}` : ''} (${what})`,
        )
      : r(`${port}/${protocol}`, 'ok', `free, ${what}`),
  );
}

/** The mount holding `dir`: the longest mount point that is a prefix of it, from /proc/self/mounts. */
export function mountOf(v: SystemView, dir: string): { mountPoint: string; type: string } | undefined {
  // Mount points escape spaces and the like as octal (\040).
  const unescapeOctal = (s: string) => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
  const inside = (mp: string) => mp === '/' || dir === mp || dir.startsWith(`${mp}/`);
  return (v.read('/proc/self/mounts') ?? '')
    .split('\n')
    .map((l) => l.split(' '))
    .filter((f) => f.length >= 3)
    .map((f) => ({ mountPoint: unescapeOctal(f[1]!), type: f[2]! }))
    .filter((m) => inside(m.mountPoint))
    .reduce<{ mountPoint: string; type: string } | undefined>(
      (best, m) => (!best || m.mountPoint.length >= best.mountPoint.length ? m : best),
      undefined,
    );
}

const GB = 1e9;
/** Below this, images and logs soon fill the disk and the node reports DiskPressure. */
const LOW_SPACE = 2 * GB;
const VOLATILE = new Set(['tmpfs', 'ramfs']);
const NETWORKED = new Set(['nfs', 'nfs4', 'cifs', 'smb3', 'fuse.sshfs']);

export function dataDirChecks(v: SystemView, dataDir: string): CheckResult[] {
  const r = result('Data dir');
  // A data dir not made yet will be made in its nearest existing ancestor.
  let existing = dataDir;
  while (!v.exists(existing) && existing !== '/') existing = existing.replace(/\/[^/]*$/, '') || '/';
  const mount = mountOf(v, existing);
  const free = v.freeBytes(existing);
  const freeText = `${(free / GB).toFixed(1)} GB free`;
  const type = mount?.type ?? 'unknown';
  const results = [
    VOLATILE.has(type)
      ? r(dataDir, 'warn', `on ${type}: the cluster's state is lost at reboot; choose --data-dir on a disk`)
      : type === 'overlay'
        ? r(dataDir, 'warn', "on overlayfs: containerd's overlayfs snapshotter cannot stack on it; choose --data-dir on ext4, xfs or btrfs")
        : NETWORKED.has(type)
          ? r(dataDir, 'warn', `on ${type}: SQLite and containerd need a local file system; choose --data-dir on a local disk`)
          : r(dataDir, 'ok', `${type}, ${freeText}`),
  ];
  if (free < LOW_SPACE) results.push(r('free space', 'warn', `only ${freeText} under ${existing}: images and logs need room`));
  return results;
}

export function checkConfig(v: SystemView, inputs: CheckInputs): CheckResult[] {
  return [
    ...kernelChecks(v),
    ...sysctlChecks(v),
    ...cgroupChecks(v),
    ...programChecks(v),
    ...cniChecks(v, inputs.cniBinDir),
    ...portChecks(v, inputs.ports),
    ...dataDirChecks(v, inputs.dataDir),
  ];
}

const WORDS: Record<Level, [word: string, color: number]> = { ok: ['ok', 32], warn: ['warning', 33], fail: ['missing', 31] };

/** The report: a heading per section, a line per check, colored only for a terminal; then a summary. */
export function formatReport(results: CheckResult[], color: boolean): string {
  const paint = (level: Level) => {
    const [word, code] = WORDS[level];
    return color ? `\x1b[${code}m${word}\x1b[0m` : word;
  };
  const lines: string[] = [];
  let section = '';
  for (const c of results) {
    if (c.section !== section) lines.push(`${lines.length ? '\n' : ''}${(section = c.section)}:`);
    lines.push(c.level === 'ok' ? `- ${c.name}: ${paint('ok')} (${c.text})` : `- ${c.name}: ${paint(c.level)}: ${c.text}`);
  }
  const failed = results.filter((c) => c.level === 'fail').length;
  const warned = results.filter((c) => c.level === 'warn').length;
  lines.push(
    '',
    failed
      ? `${failed} required item${failed === 1 ? ' is' : 's are'} missing: Skiff cannot run a node here until they are fixed`
      : `Everything Skiff needs is here${warned ? ` (${warned} warning${warned === 1 ? '' : 's'})` : ''}`,
  );
  return `${lines.join('\n')}\n`;
}
