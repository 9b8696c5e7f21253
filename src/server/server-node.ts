// The server's own node, as K3s treats it: its name is claimed with the node password in
// <data-dir>/agent like any agent's, and the labels a node may not set on itself (NodeRestriction:
// K3s's node-role.kubernetes.io/control-plane and master, and any such --node-label) are applied by
// the server with its own identity once the node has registered, not by the node.
import type { ApiClient } from '../client/rest-client.js';
import { nodes } from '../client/resources.js';
import { sleep } from '../client/sleep.js';
import { isNotFound } from '../k8s/errors.js';
import { forbiddenNodeLabels } from '../k8s/nodes.js';
import { log } from '../log.js';

/** Splits a node's wanted labels into those its agent registers with and those the server must set. */
export function splitNodeLabels(labels: Record<string, string>): { own: Record<string, string>; restricted: Record<string, string> } {
  const restricted = new Set(forbiddenNodeLabels(Object.keys(labels)));
  const own: Record<string, string> = {};
  const rest: Record<string, string> = {};
  for (const [k, v] of Object.entries(labels)) (restricted.has(k) ? rest : own)[k] = v;
  return { own, restricted: rest };
}

/** Sets `labels` on the Node once it exists (checking every `pollMs`), until done or the signal aborts. */
export async function labelServerNode(
  api: ApiClient,
  nodeName: string,
  labels: Record<string, string>,
  signal: AbortSignal,
  pollMs = 500,
): Promise<void> {
  if (!Object.keys(labels).length) return;
  const client = api.resource(nodes);
  while (!signal.aborted) {
    try {
      const node = await client.get(undefined, nodeName);
      if (Object.entries(labels).every(([k, v]) => node.metadata?.labels?.[k] === v)) return;
      await client.patch(undefined, nodeName, { metadata: { labels } }, 'merge');
      log.info({ node: nodeName, labels }, 'labelled the server node');
      return;
    } catch (err) {
      if (!isNotFound(err)) log.warn({ node: nodeName, err: (err as Error).message }, 'cannot label the server node yet');
    }
    await sleep(pollMs, signal);
  }
}
