// ReplicationController: the replica manager over core/v1 ReplicationControllers, whose selector
// is a plain label map (every key must equal), unlike a ReplicaSet's LabelSelector.
import type { ReplicationController } from 'kubernetes-types/core/v1.js';
import { fromLabelSelector } from '../k8s/selectors.js';
import { replicationControllers, type Writable } from '../client/resources.js';
import { ReplicaManager, type ReplicatedKind } from './replica-manager.js';
import type { ControllerContext } from './runner.js';

type RC = Writable<ReplicationController>;

export const replicationControllerKind: ReplicatedKind<RC> = {
  type: replicationControllers,
  name: 'replicationcontroller',
  component: 'replication-controller',
  selector: (rc) => fromLabelSelector({ matchLabels: rc.spec?.selector ?? {} }),
};

export class ReplicationControllerController extends ReplicaManager<RC> {
  constructor(ctx: ControllerContext) {
    super(ctx, replicationControllerKind);
  }
}
