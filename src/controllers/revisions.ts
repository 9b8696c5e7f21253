// ControllerRevisions: the history of a StatefulSet's or DaemonSet's pod templates, which
// `kubectl rollout history|undo` read. Each template is stored once, named <owner>-<hash>; going
// back to an earlier template makes its revision the newest again.
import type { ControllerRevision } from 'kubernetes-types/apps/v1.js';
import { isControlledBy, ownerRefTo } from '../k8s/owners.js';
import { isAlreadyExists } from '../k8s/errors.js';
import type { Informer } from '../client/informer.js';
import type { ResourceClient } from '../client/rest-client.js';
import type { KubeObject, Writable } from '../client/resources.js';
import { templateHash } from './deployment-util.js';

export type Revision = Writable<ControllerRevision>;

interface Owner extends KubeObject {
  spec?: { template?: unknown; selector?: { matchLabels?: Record<string, string> } };
}

/** The current template's revision (created or renumbered as needed); answers its hash and name. */
export async function ensureRevision(
  revisions: Informer<Revision>,
  client: ResourceClient<Revision>,
  owner: Owner,
  kind: 'StatefulSet' | 'DaemonSet',
): Promise<{ hash: string; name: string }> {
  const hash = templateHash(owner.spec?.template);
  const name = `${owner.metadata!.name}-${hash}`;
  const history = revisions.list(owner.metadata?.namespace).filter((r) => isControlledBy(r, owner));
  const newest = Math.max(0, ...history.map((r) => r.revision));
  const current = history.find((r) => r.metadata?.name === name);
  if (current) {
    if (current.revision < newest) await client.patch(current.metadata!.namespace, name, { revision: newest + 1 });
    return { hash, name };
  }
  const data = { spec: { template: { ...(owner.spec!.template as object), $patch: 'replace' } } };
  await client
    .create({
      apiVersion: 'apps/v1',
      kind: 'ControllerRevision',
      metadata: {
        name,
        namespace: owner.metadata!.namespace,
        labels: owner.spec?.selector?.matchLabels,
        ownerReferences: [ownerRefTo(owner, 'apps/v1', kind)],
      },
      data,
      revision: newest + 1,
    })
    .catch((err) => {
      if (!isAlreadyExists(err)) throw err;
    });
  return { hash, name };
}
