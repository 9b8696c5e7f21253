// The agent's configuration, typed: what `skiff agent` is given (src/cli builds it from flags, the
// environment and the config file), and the checks that turn a node's part of it into the settings
// of startNodeAgent. The server's own node is configured by the same NodeConfig.
import path from 'node:path';
import { checkSetting } from '../k8s/config-error.js';
import { kubeletArgs } from './kubelet-args.js';
import { parseNodeLabels, parseNodeTaints } from './node-registration.js';
import { readRegistries } from './registries.js';
import { checkResolvConf } from './resolv-conf.js';

/** Skiff's own sandbox image, which the agent builds when containerd lacks it (see pause-image.ts). */
export const DEFAULT_PAUSE_IMAGE = 'skiff.local/pause:1';

/** The flags of a node, on `skiff agent` and `skiff server` alike (named after them). */
export interface NodeConfig {
  dataDir: string;
  nodeName: string;
  nodeIP?: string;
  nodeExternalIP?: string;
  flannelIface?: string;
  resolvConf?: string;
  containerRuntimeEndpoint?: string;
  pauseImage: string;
  cniBridge: string;
  /** key=value items, checked by nodeAgentSettings. */
  nodeLabels: string[];
  /** key[=value]:Effect items. */
  nodeTaints: string[];
  /** The registries.yaml file. */
  privateRegistry: string;
  /** NAME=VALUE items. */
  kubeletArgs: string[];
  /** --default-local-storage-path: where local-path volumes live (default <data-dir>/storage). */
  defaultLocalStoragePath?: string;
  /** --ingress-http-port, --ingress-https-port (default 80 and 443). */
  ingressHttpPort?: number;
  ingressHttpsPort?: number;
}

export interface AgentConfig extends NodeConfig {
  /** The server to join, https://host:port. */
  server: string;
  /** The join token (from --token, or read from --token-file). */
  token: string;
  /** A hollow node: no containers (tests, benchmarks). */
  hollow: boolean;
}

/**
 * startNodeAgent's settings (NodeAgentSettings but the cluster's network, which comes from the server),
 * checked: a bad one is a ConfigError.
 */
export function nodeAgentSettings(c: NodeConfig) {
  return {
    dataDir: c.dataDir,
    nodeName: c.nodeName,
    nodeIP: c.nodeIP,
    externalIP: c.nodeExternalIP,
    flannelIface: c.flannelIface,
    resolvConf: checkSetting(() => checkResolvConf(c.resolvConf)),
    containerRuntimeEndpoint: c.containerRuntimeEndpoint,
    pauseImage: c.pauseImage,
    cniBridge: c.cniBridge,
    kubelet: checkSetting(() => kubeletArgs(c.kubeletArgs)),
    labels: checkSetting(() => parseNodeLabels(c.nodeLabels)),
    taints: checkSetting(() => parseNodeTaints(c.nodeTaints)),
    registries: checkSetting(() => readRegistries(c.privateRegistry)),
    localStoragePath: c.defaultLocalStoragePath ?? path.join(c.dataDir, 'storage'),
    ingressPorts: { http: c.ingressHttpPort ?? 80, https: c.ingressHttpsPort ?? 443 },
  };
}
