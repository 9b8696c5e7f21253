// ReplicaSet: the replica manager over apps/v1 ReplicaSets, which select with a LabelSelector.
import type { ReplicaSet } from 'kubernetes-types/apps/v1.js';
import { fromLabelSelector } from '../k8s/selectors.js';
import { replicaSets, type Writable } from '../client/resources.js';
import { ReplicaManager, type ReplicatedKind } from './replica-manager.js';
import type { ControllerContext } from './runner.js';

type RS = Writable<ReplicaSet>;

export const replicaSetKind: ReplicatedKind<RS> = {
  type: replicaSets,
  name: 'replicaset',
  component: 'replicaset-controller',
  selector: (rs) => fromLabelSelector(rs.spec?.selector),
};

export class ReplicaSetController extends ReplicaManager<RS> {
  constructor(ctx: ControllerContext) {
    super(ctx, replicaSetKind);
  }
}
