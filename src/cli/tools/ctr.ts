// `skiff ctr ...`: containerd's own ctr on the node's containerd, in the CRI's namespace k8s.io, as
// `k3s ctr` does. Through ctr's environment, so that the user's -a and -n still win.
import { containerdSocket } from './node-files.js';
import { runProgram } from './run-program.js';

export function ctr(args: string[]): Promise<number> {
  const env = {
    ...process.env,
    CONTAINERD_ADDRESS: process.env.CONTAINERD_ADDRESS || containerdSocket(),
    CONTAINERD_NAMESPACE: process.env.CONTAINERD_NAMESPACE || 'k8s.io',
  };
  return runProgram('ctr', args, env, 'it comes with containerd (apt install containerd)');
}
