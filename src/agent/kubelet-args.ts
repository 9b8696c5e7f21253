// The agent's tunables, given K3s-style as --kubelet-arg NAME=VALUE with the kubelet's own names.
import { parseQuantity } from '../k8s/quantity.js';

export interface KubeletArgs {
  /** Where the API server reaches the agent. */
  port: number;
  /** A container's log file is rotated beyond this many bytes ... */
  containerLogMaxSize: number;
  /** ... and this many files are kept per container, the current one included. */
  containerLogMaxFiles: number;
}

export const DEFAULT_KUBELET_ARGS: KubeletArgs = { port: 10250, containerLogMaxSize: 10 * 1024 * 1024, containerLogMaxFiles: 5 };

const SUPPORTED = 'port=<number>, container-log-max-size=<quantity, e.g. 10Mi>, container-log-max-files=<number of at least 2>';

/** The settings from `name=value` arguments; anything else is an error naming it. */
export function kubeletArgs(args: string[]): KubeletArgs {
  const out = { ...DEFAULT_KUBELET_ARGS };
  for (const arg of args) {
    const [name, value = ''] = arg.replace(/^--/, '').split('=', 2);
    const bad = () => new Error(`unsupported --kubelet-arg "${arg}": supported are ${SUPPORTED}`);
    if (name === 'port') {
      if (!/^\d+$/.test(value) || Number(value) > 65535) throw bad();
      out.port = Number(value);
    } else if (name === 'container-log-max-size') {
      let bytes: number;
      try {
        bytes = parseQuantity(value);
      } catch {
        throw bad();
      }
      if (!(bytes > 0)) throw bad();
      out.containerLogMaxSize = bytes;
    } else if (name === 'container-log-max-files') {
      if (!/^\d+$/.test(value) || Number(value) < 2) throw bad();
      out.containerLogMaxFiles = Number(value);
    } else throw bad();
  }
  return out;
}
