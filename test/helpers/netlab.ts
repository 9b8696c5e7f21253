// Several hosts on one machine for multi-node tests: a network namespace per host, each joined by a
// veth pair to one bridge in the root namespace (one L2 segment, as Pis on a switch), with the
// root namespace on the bridge too, so the test itself (kubectl) reaches every host. Processes run
// inside a host with `nsenter --net` (`ip netns exec` would remount /sys and hide the cgroup mounts
// runc needs). Everything goes with the test: namespaces, veths, bridge.
import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import type { Test } from 'tap';

export interface NetHost {
  /** Also the network namespace's name (/run/netns/<name>). */
  name: string;
  netns: string;
  /** The host's address on the lab's segment. */
  ip: string;
  /** The command prefix that runs a program inside this host's network namespace. */
  enter: string[];
  /** Runs a program inside the host; resolves with its output, whatever its exit code. */
  exec(
    command: string,
    args: string[],
    opts?: { input?: string; timeoutMs?: number },
  ): Promise<{ code: number; stdout: string; stderr: string }>;
}

export interface NetLab {
  id: string;
  bridge: string;
  /** The root namespace's address on the segment. */
  gateway: string;
  /** `10.250.X` */
  prefix: string;
  hosts: NetHost[];
}

/** A third octet for 10.250.X.0/24 that no route here uses yet. */
function freeSubnet(): string {
  const routes = execFileSync('ip', ['-4', 'route']).toString();
  const start = randomBytes(1)[0]!;
  for (let i = 0; i < 250; i++) {
    const x = 1 + ((start + i) % 250);
    if (!routes.includes(`10.250.${x}.`)) return `10.250.${x}`;
  }
  throw new Error('no free 10.250.x.0/24 for a test network');
}

const ip = (...args: string[]) => execFileSync('ip', args, { stdio: 'pipe' });
const quietly = (f: () => unknown) => {
  try {
    f();
  } catch {
    // already gone
  }
};

export function createNetLab(t: Test, hostCount: number): NetLab {
  const id = randomBytes(3).toString('hex').slice(0, 5);
  const bridge = `skl${id}`;
  const prefix = freeSubnet();
  const gateway = `${prefix}.1`;
  const hosts: NetHost[] = [];
  // Last registered, first run: hosts go before the bridge their veths hang on.
  t.teardown(() => quietly(() => ip('link', 'delete', bridge)));
  ip('link', 'add', bridge, 'type', 'bridge');
  ip('addr', 'add', `${gateway}/24`, 'dev', bridge);
  ip('link', 'set', bridge, 'up');
  for (let i = 0; i < hostCount; i++) {
    const name = `skl${id}-${i}`;
    const outside = `skl${id}v${i}`;
    const address = `${prefix}.${11 + i}`;
    t.teardown(() => {
      quietly(() => ip('netns', 'delete', name));
      quietly(() => ip('link', 'delete', outside));
    });
    ip('netns', 'add', name);
    ip('link', 'add', outside, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', name);
    ip('link', 'set', outside, 'master', bridge, 'up');
    ip('-n', name, 'link', 'set', 'lo', 'up');
    ip('-n', name, 'addr', 'add', `${address}/24`, 'dev', 'eth0');
    ip('-n', name, 'link', 'set', 'eth0', 'up');
    ip('-n', name, 'route', 'add', 'default', 'via', gateway);
    const enter = ['nsenter', `--net=/run/netns/${name}`];
    hosts.push({
      name,
      netns: name,
      ip: address,
      enter,
      exec(command, args, opts = {}) {
        return new Promise((resolve) => {
          const child = execFile(
            enter[0]!,
            [...enter.slice(1), command, ...args],
            { timeout: opts.timeoutMs ?? 60_000, maxBuffer: 16 * 1024 * 1024 },
            (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
          );
          if (opts.input !== undefined) child.stdin!.end(opts.input);
        });
      },
    });
  }
  return { id, bridge, gateway, prefix, hosts };
}
