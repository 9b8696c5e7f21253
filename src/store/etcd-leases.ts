// What the etcd store needs around etcd's leases: ids it can hold in a number, and one keep-alive.
import { randomInt } from 'node:crypto';
import type { ILeaseKeepAliveResponse, LeaseClient } from 'etcd3';
import { StoreError } from './errors.js';

/** etcd's own lease ids use 63 bits, more than a JavaScript number holds exactly: ids are chosen here. */
export const newLeaseId = (): number => randomInt(1, 2 ** 48);

/** etcd refused a grant because the id chosen is taken. */
export const isLeaseTaken = (err: unknown): boolean => err instanceof Error && err.message.includes('lease already exists');

/** One keep-alive of lease `id`; a TTL of 0 in the answer means etcd has no such lease. */
export async function keepAliveOnce(client: LeaseClient, id: number): Promise<ILeaseKeepAliveResponse> {
  const stream = await client.leaseKeepAlive();
  try {
    return await new Promise((resolve, reject) => {
      stream
        .on('data', resolve)
        .on('error', reject)
        .on('end', () => reject(new StoreError('etcd ended the lease keep-alive')));
      stream.write({ ID: id });
    });
  } finally {
    stream.cancel();
  }
}
