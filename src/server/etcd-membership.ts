// The members of the embedded etcd cluster: adding a joining server's member (etcd wants MemberAdd
// before the new member first starts, with initial-cluster-state `existing`), removing one, and
// removing the member of a server whose Node is deleted (`kubectl delete node`), as K3s does.
import { type Etcd3, GRPCNotFoundError, type IMember, type IMemberAddResponse } from 'etcd3';
import type { Node } from 'kubernetes-types/core/v1.js';
import { Informer } from '../client/informer.js';
import type { ApiClient } from '../client/rest-client.js';
import { nodes } from '../client/resources.js';
import { WorkQueue } from '../client/workqueue.js';
import { onAbort } from '../k8s/abort.js';
import { sleep } from '../k8s/clock.js';
import { log } from '../log.js';
import { type EtcdMember, etcdClient } from './etcd-member.js';

/** What may stand in an `initial-cluster` list (name=url,...): node names and https URLs of IP addresses. */
const MEMBER_NAME = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;
const PEER_URL = /^https:\/\/(\d{1,3}(\.\d{1,3}){3}|\[[0-9a-f:]+\]):\d{1,5}$/i;

const describe = (m: IMember) => `${m.name || '(not started)'} ${m.peerURLs.join(',')}`;

/**
 * Adds the member `name` at `peerUrl` and answers the `initial-cluster` it must first start with
 * (every member, itself included). A retried join finds its member there and is answered the same.
 */
export async function addMember(client: Etcd3, name: string, peerUrl: string): Promise<string> {
  if (!MEMBER_NAME.test(name)) throw new Error(`invalid etcd member name ${JSON.stringify(name)}: expected a node name`);
  if (!PEER_URL.test(peerUrl)) throw new Error(`invalid etcd peer URL ${JSON.stringify(peerUrl)}: expected https://<IP address>:<port>`);
  let { members } = await client.cluster.memberList({});
  const ours = (m: IMember) => m.peerURLs.includes(peerUrl);
  const clash = members.find((m) => (m.name === name && !ours(m)) || (ours(m) && m.name !== '' && m.name !== name));
  if (clash) throw new Error(`cannot add etcd member ${name} at ${peerUrl}: member ${describe(clash)} is in the way; remove it first`);
  // Its name is not known before it starts, so initial-cluster could not be written for it.
  const pending = members.find((m) => m.name === '' && !ours(m));
  if (pending) throw new Error(`cannot add etcd member ${name} yet: member ${describe(pending)} has not started`);
  if (!members.some(ours)) ({ members } = await memberAddWhenHealthy(client, peerUrl));
  return members.flatMap((m) => m.peerURLs.map((u) => `${ours(m) ? name : m.name}=${u}`)).join(',');
}

/** etcd adds members only once every member has been connected for 5 s (its HealthInterval). */
const HEALTHY_WAIT_MS = 20_000;

/** MemberAdd, waiting out etcd's "unhealthy cluster" just after a member (re)started. */
async function memberAddWhenHealthy(client: Etcd3, peerUrl: string): Promise<IMemberAddResponse> {
  const end = Date.now() + HEALTHY_WAIT_MS;
  for (;;) {
    try {
      return await client.cluster.memberAdd({ peerURLs: [peerUrl] });
    } catch (err) {
      // The client's circuit breaker opens after three such answers in a row, and closes again.
      const unhealthy =
        /unhealthy cluster/.test((err as Error).message) || (err as { isBrokenCircuitError?: boolean }).isBrokenCircuitError;
      if (!unhealthy) throw err;
      if (Date.now() > end)
        throw new Error(`cannot add etcd member at ${peerUrl}: etcd says the cluster is unhealthy (is one of its members down?)`);
      await sleep(500);
    }
  }
}

/** What removeMember did: a cluster's last member is never removed (that would end the cluster). */
export type Removal = 'removed' | 'absent' | 'last';

export async function removeMember(client: Etcd3, name: string): Promise<Removal> {
  const { members } = await client.cluster.memberList({});
  const member = members.find((m) => m.name === name);
  if (!member) return 'absent';
  if (members.length === 1) return 'last';
  try {
    await client.cluster.memberRemove({ ID: member.ID });
    return 'removed';
  } catch (err) {
    // Another server removed it first.
    if (err instanceof GRPCNotFoundError) return 'absent';
    throw err;
  }
}

/**
 * Until `signal` aborts: when a Node is deleted, removes the etcd member of the same name (retried
 * with backoff while etcd refuses, e.g. without quorum). Nodes deleted while no server watched are
 * left alone: only a deletion seen says that a member is not wanted.
 */
export async function removeMembersOfDeletedNodes(api: ApiClient, etcd: Etcd3, signal: AbortSignal): Promise<void> {
  const queue = new WorkQueue<string>();
  const informer = new Informer<Node>(api.resource(nodes), {
    // Only names are read: a Pi need not keep every Node's status in memory for this.
    transform: <O>(n: O) =>
      ({ metadata: { name: (n as Node).metadata?.name, resourceVersion: (n as Node).metadata?.resourceVersion } }) as O,
  }).on({ delete: (n) => queue.add(n.metadata!.name!) });
  onAbort(signal, () => {
    informer.stop();
    queue.shutdown();
  });
  informer.start();
  for (let name = await queue.get(); name !== undefined; name = await queue.get()) {
    try {
      const removal = await removeMember(etcd, name);
      if (removal !== 'absent') log.info({ node: name }, removal === 'last' ? 'kept the last etcd member' : 'removed etcd member');
      queue.forget(name);
    } catch (err) {
      log.warn({ node: name, err: (err as Error).message }, 'cannot remove etcd member; retrying');
      queue.addRateLimited(name);
    } finally {
      queue.done(name);
    }
  }
}

/** This server's hand on the cluster's members, through its own member. */
export function membersOf(member: EtcdMember) {
  const client = etcdClient(member.endpoints, member.tls);
  return {
    add: (name: string, peerUrl: string) => addMember(client, name, peerUrl),
    removeDeletedNodes: (api: ApiClient, signal: AbortSignal) => removeMembersOfDeletedNodes(api, client, signal),
    close: () => client.close(),
  };
}
