// The node's side of local-path storage: the node owns its disk, so it says on its Node where its
// local-path volumes live, and removes a volume's directory when the provisioner asks for it there.
// Creating, binding, growing and deleting the PersistentVolume objects is the provisioner's, in the
// controller manager (src/controllers/local-path-provisioner.ts): a node may not create volumes
// (Node authorizer, NodeRestriction), but it may write its own Node, which is all this needs. The
// directory itself is made by the kubelet as the first pod mounts it (hostPath DirectoryOrCreate).
import { rm } from 'node:fs/promises';
import path from 'node:path';
import type { Node } from 'kubernetes-types/core/v1.js';
import { Informer } from '../../client/informer.js';
import type { ApiClient, ResourceClient } from '../../client/rest-client.js';
import { nodes, type Writable } from '../../client/resources.js';
import { ANN_STORAGE_PATH, REMOVE_PREFIX } from '../../k8s/local-path.js';
import { log } from '../../log.js';

/** Only a name this scheme makes is removed, and only inside the node's own folder. */
const SAFE_DIR = /^pvc-[0-9a-f-]+_[a-z0-9-]+_[a-z0-9.-]+$/;

/** The removals a Node asks for: annotation key and the directory to remove (unsafe names are skipped, and cleared). */
export function requestedRemovals(annotations: Record<string, string> | undefined): { key: string; dir?: string }[] {
  return Object.entries(annotations ?? {})
    .filter(([k]) => k.startsWith(REMOVE_PREFIX))
    .map(([key, dir]) => (SAFE_DIR.test(dir) ? { key, dir } : { key }));
}

export async function startLocalPathNode(api: ApiClient, nodeName: string, storagePath: string, enabled: boolean) {
  const client: ResourceClient<Writable<Node>> = api.resource(nodes);
  // Disabled: no trace of it on the Node either.
  await client.patch(undefined, nodeName, { metadata: { annotations: { [ANN_STORAGE_PATH]: enabled ? storagePath : null } } });
  if (!enabled) return { stop: async () => {} };
  const informer = new Informer(client, { fieldSelector: `metadata.name=${nodeName}` });
  let running = Promise.resolve();
  const changed = (node: Writable<Node>) => {
    running = running
      .then(() => removeRequested(client, node, storagePath))
      .catch((err: unknown) => {
        log.warn({ err: (err as Error).message }, 'local-path: could not remove a volume directory');
      });
  };
  informer.on({ add: changed, update: (_, node) => changed(node) });
  informer.start();
  return {
    async stop() {
      informer.stop();
      await running;
    },
  };
}

async function removeRequested(client: ResourceClient<Writable<Node>>, node: Writable<Node>, storagePath: string): Promise<void> {
  const removals = requestedRemovals(node.metadata?.annotations);
  if (!removals.length) return;
  for (const { dir } of removals) {
    if (!dir) continue;
    await rm(path.join(storagePath, dir), { recursive: true, force: true });
    log.info({ dir }, 'local-path: removed a volume directory');
  }
  const done = Object.fromEntries(removals.map(({ key }) => [key, null]));
  await client.patch(undefined, node.metadata!.name!, { metadata: { annotations: done } });
}
