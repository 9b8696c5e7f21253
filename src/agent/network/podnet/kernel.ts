// Reading and writing the pod network's kernel state: routes, the VTEP device's neighbours,
// addresses and FDB entries (iproute2's `ip` and `bridge`, JSON to read, `-batch` to write), the
// interfaces with their addresses, and the sysctls forwarding needs.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import { IpError, ipBatch, ipJson } from '../ip.js';
import { VXLAN_DEVICE } from './flannel-annotations.js';
import type { KernelState, Plan } from './desired-state.js';

/** `bridge -force -batch -`: FDB changes in one process, going on past a failed line. */
export async function bridgeBatch(lines: string[]): Promise<void> {
  if (lines.length === 0) return;
  await new Promise<void>((resolve, reject) => {
    const child = execFile('bridge', ['-force', '-batch', '-'], (err, _stdout, stderr) =>
      err ? reject(new IpError(`bridge -batch: ${stderr.trim() || err.message}`)) : resolve(),
    );
    child.stdin!.end(`${lines.join('\n')}\n`);
  });
}

function bridgeJson<T>(...args: string[]): Promise<T> {
  return new Promise((resolve, reject) =>
    execFile('bridge', ['-j', ...args], { maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) =>
      err ? reject(new IpError(`bridge ${args.join(' ')}: ${stderr.trim() || err.message}`)) : resolve(JSON.parse(stdout.trim() || '[]')),
    ),
  );
}

export interface LinkAddresses {
  ifname: string;
  mtu: number;
  addr_info?: { family?: string; local: string; prefixlen: number }[];
}

/** Every interface with its IPv4 addresses (`ip -j -4 addr show`). */
export const readLinks = () => ipJson<LinkAddresses[]>('-4', 'addr', 'show');

/** Routes, and the VTEP device's entries when it exists. */
export async function readKernelState(withVtep: boolean): Promise<KernelState> {
  const routes = await ipJson<KernelState['routes']>('-4', 'route', 'show', 'table', 'main');
  if (!withVtep) return { routes, neighbours: [], fdb: [], vtepAddresses: [] };
  const [neighbours, fdb, links] = await Promise.all([
    ipJson<KernelState['neighbours']>('-4', 'neigh', 'show', 'dev', VXLAN_DEVICE),
    bridgeJson<KernelState['fdb']>('fdb', 'show', 'dev', VXLAN_DEVICE),
    ipJson<LinkAddresses[]>('-4', 'addr', 'show', 'dev', VXLAN_DEVICE),
  ]);
  const vtepAddresses = (links[0]?.addr_info ?? []).map((a) => `${a.local}/${a.prefixlen}`);
  return { routes, neighbours, fdb, vtepAddresses };
}

/** Removals, FDB, then additions; `-force` applies every line it can and reports the ones it could not. */
export async function applyPlan(p: Plan): Promise<void> {
  const errors: string[] = [];
  const step = (f: () => Promise<void>) => f().catch((err: Error) => void errors.push(err.message));
  await step(() => ipBatch(p.ipRemove));
  await step(() => bridgeBatch(p.bridge));
  await step(() => ipBatch(p.ipAdd));
  if (errors.length) throw new IpError(errors.join('; '));
}

/** Writes a sysctl (`net/ipv4/ip_forward`) of this network namespace (/proc/sys/net is per namespace) if it differs. */
export function setSysctl(name: string, value: string): void {
  const file = `/proc/sys/${name}`;
  if (fs.readFileSync(file, 'utf8').trim() !== value) fs.writeFileSync(file, value);
}
