// What a real node says about itself: capacity (CPUs, memory, pods, the data dir's disk), addresses,
// versions (kernel, OS image, containerd), and the health behind its conditions (containerd and its
// network up; memory, disk and PIDs left, with the kubelet's default eviction thresholds).
import fs from 'node:fs';
import os from 'node:os';
import { KUBERNETES_VERSION } from '../k8s/version.js';
import type { CriClient } from '../cri/client.js';
import type { StatusResponse } from '../cri/messages.js';
import type { NodeFacts } from './node-reporter.js';
import { goArch } from './oci-image.js';

export const KUBELET_VERSION = KUBERNETES_VERSION.gitVersion;

export const MAX_PODS = 110;
const MEMORY_AVAILABLE_MIN = 100 * 1024 * 1024; // memory.available<100Mi
const DISK_AVAILABLE_MIN = 0.1; // nodefs.available<10%
const PIDS_AVAILABLE_MIN = 0.05;

const readText = (file: string) => {
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch {
    return '';
  }
};

function osImage(): string {
  const release = readText('/etc/os-release');
  const pretty = /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(release);
  return pretty?.[1] ?? 'Linux';
}

function memAvailable(): number {
  const m = /^MemAvailable:\s+(\d+) kB$/m.exec(readText('/proc/meminfo'));
  return m ? Number(m[1]) * 1024 : os.freemem();
}

function pidsNearlyExhausted(): boolean {
  const total = Number(readText('/proc/loadavg').split(' ')[3]?.split('/')[1] ?? 0);
  const max = Number(readText('/proc/sys/kernel/pid_max')) || 32768;
  return max - total < max * PIDS_AVAILABLE_MIN;
}

/** Why the runtime is not ready, from CRI Status conditions, or undefined. */
function runtimeNotReady(status: StatusResponse): string | undefined {
  const conditions = status.status?.conditions ?? [];
  const down = conditions.filter((c) => !c.status);
  if (down.length === 0) return undefined;
  const reasons = down.map(
    (c) => `${c.type === 'NetworkReady' ? 'network' : 'status'} not ready: ${c.type}=false reason:${c.reason} message:${c.message}`,
  );
  return `container runtime ${reasons.join('; ')}`;
}

export interface HostFactsOptions {
  cri: CriClient;
  /** The node's InternalIP (--node-ip). */
  nodeIP: string;
  /** Its ExternalIP (--node-external-ip), if it has one. */
  externalIP?: string;
  hostname: string;
  /** Where the agent's state lives: its disk is the node's ephemeral storage. */
  dataDir: string;
}

/** A facts() for NodeReporter, reading the host and containerd each time it is called. */
export function hostFacts(o: HostFactsOptions): () => Promise<NodeFacts> {
  const nodeInfo = {
    machineID: readText('/etc/machine-id'),
    systemUUID: readText('/sys/class/dmi/id/product_uuid').toLowerCase(),
    bootID: readText('/proc/sys/kernel/random/boot_id'),
    kernelVersion: os.release(),
    osImage: osImage(),
    containerRuntimeVersion: '',
    kubeletVersion: KUBELET_VERSION,
    kubeProxyVersion: '',
    operatingSystem: 'linux',
    architecture: goArch(),
  };
  return async () => {
    const disk = fs.statfsSync(o.dataDir);
    let notReady: string | undefined;
    try {
      const version = await o.cri.version();
      nodeInfo.containerRuntimeVersion = `${version.runtimeName}://${String(version.runtimeVersion).replace(/^v/, '')}`;
      notReady = runtimeNotReady(await o.cri.status());
    } catch (err) {
      notReady = `container runtime is down: ${(err as Error).message}`;
    }
    const capacity = {
      cpu: String(os.availableParallelism()),
      memory: `${Math.floor(os.totalmem() / 1024)}Ki`,
      pods: String(MAX_PODS),
      'ephemeral-storage': `${Math.floor((disk.blocks * disk.bsize) / 1024)}Ki`,
    };
    return {
      capacity,
      addresses: [
        { type: 'InternalIP', address: o.nodeIP },
        ...(o.externalIP ? [{ type: 'ExternalIP', address: o.externalIP }] : []),
        { type: 'Hostname', address: o.hostname },
      ],
      nodeInfo: { ...nodeInfo },
      notReady,
      memoryPressure: memAvailable() < MEMORY_AVAILABLE_MIN,
      diskPressure: disk.bavail < disk.blocks * DISK_AVAILABLE_MIN,
      pidPressure: pidsNearlyExhausted(),
    };
  };
}
