// Waiting for a pod through kubectl. Why one helper: a pod that never gets there fails the test with
// what it did instead (its status and `kubectl describe`), rather than handing back the last pod.
import type { Cluster } from './cluster.js';
import { eventually } from './eventually.js';

/** Polls `kubectl get pod` until `check` holds for it and answers the pod; fails after `timeout` ms (default 2 min). */
export async function podWhen(c: Cluster, name: string, check: (pod: any) => boolean, opts: { timeout?: number } = {}): Promise<any> {
  let last: any;
  return eventually(
    async () => {
      last = JSON.parse(await c.k('get', 'pod', name, '-o', 'json'));
      return check(last) ? last : undefined;
    },
    {
      timeout: opts.timeout ?? 120_000,
      what: `pod ${name} to be as the test wants (${check.toString().slice(0, 300)})`,
      explain: async () => {
        const status = JSON.stringify(last?.status);
        const described = (await c.kubectl(['describe', 'pod', name])).stdout;
        return `its last status: ${status}\nkubectl describe pod ${name}:\n${described}`;
      },
    },
  );
}
