// Where the node's tools find what `skiff server` and `skiff agent` made, read from the same config
// file and SKIFF_* variables they read: the admin kubeconfig and the node's containerd socket.
import { containerdPaths } from '../../agent/containerd.js';
import { resolveSettings } from '../config.js';

/** $KUBECONFIG, else the file the server writes (--write-kubeconfig), as `k3s kubectl` does. */
export function adminKubeconfig(env: NodeJS.ProcessEnv = process.env): string {
  return env.KUBECONFIG || (resolveSettings('server', {}, env)['write-kubeconfig'] as string);
}

/** The agent's --container-runtime-endpoint, else the containerd it runs under its data dir. */
export function containerdSocket(env: NodeJS.ProcessEnv = process.env): string {
  const settings = resolveSettings('agent', {}, env);
  const endpoint = settings['container-runtime-endpoint'] as string | undefined;
  return endpoint ? endpoint.replace(/^unix:\/\//, '') : containerdPaths(settings['data-dir'] as string).socket;
}

/** The data dir of the node (--data-dir, SKIFF_DATA_DIR or the config file). */
export function nodeDataDir(env: NodeJS.ProcessEnv = process.env): string {
  return resolveSettings('agent', {}, env)['data-dir'] as string;
}
