// `skiff kubectl ...`: the system's kubectl with the admin kubeconfig (unless KUBECONFIG says otherwise).
import { adminKubeconfig } from './node-files.js';
import { runProgram } from './run-program.js';

export function kubectl(args: string[]): Promise<number> {
  const env = { ...process.env, KUBECONFIG: adminKubeconfig() };
  return runProgram('kubectl', args, env, 'install it (apt install kubernetes-client) or see https://kubernetes.io/docs/tasks/tools/');
}
