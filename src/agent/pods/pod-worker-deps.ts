// What a pod worker and its container runner are given by the kubelet: the runtime, volumes,
// sources, events, the pod API and node facts. Its own module so the two need not import each other.
import type { EventRecorder } from '../../client/event-recorder.js';
import type { ResourceClient } from '../../client/rest-client.js';
import type { CriClient } from '../../cri/client.js';
import type { Backoff } from './backoff.js';
import type { P } from './labels.js';
import type { DnsConfig } from './pod-dns.js';
import type { RuntimeView } from './runtime-view.js';
import type { PodSources } from './sources.js';
import type { PodVolumes } from './volumes.js';

export interface PodWorkerDeps {
  cri: CriClient;
  runtime: RuntimeView;
  volumes: PodVolumes;
  sources: PodSources;
  recorder: EventRecorder;
  pods: ResourceClient<P>;
  backoff: Backoff;
  /** Root of the pod log folders (<ns>_<name>_<uid>). */
  logsDir: string;
  hostIPs(): string[];
  /** The pod's resolv.conf and what was cut to fit the resolver's limits (pod-dns.ts). */
  podDns(pod: P): { config: DnsConfig; problems: string[] };
  nodeMemory: number;
  /** Called once the pod is gone from the node and from the API. */
  finished(uid: string): void;
}
