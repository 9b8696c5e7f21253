// The Store's writes as etcd transactions: the Store's precondition is the compare, and the failure
// branch reads the key, so that a refused write can say why (it exists, it is gone, or it is at
// another revision) from the same moment it was refused.
import { CompareResult, CompareTarget, type ICompare, type IRequestOp, type ITxnRequest, type ITxnResponse } from 'etcd3';
import { ConflictError, KeyExistsError, KeyNotFoundError } from './errors.js';
import { toKeyValue } from './etcd-kv.js';
import type { KeyValue } from './types.js';

const read = (key: string): IRequestOp => ({ request_range: { key: Buffer.from(key) } });

export const putOp = (key: string, value: Buffer, lease: number): IRequestOp => ({
  request_put: { key: Buffer.from(key), value, lease },
});

export const deleteOp = (key: string): IRequestOp => ({ request_delete_range: { key: Buffer.from(key), prev_kv: true } });

/** Puts key if it does not exist. */
export function createTxn(key: string, value: Buffer, lease: number): ITxnRequest {
  return {
    compare: [{ key: Buffer.from(key), target: CompareTarget.Create, result: CompareResult.Equal, create_revision: 0 }],
    success: [putOp(key, value, lease)],
    failure: [read(key)],
  };
}

/** Applies `op` to key if it exists and, with `expected`, was last written at that revision. */
export function changeTxn(key: string, expected: number | undefined, op: IRequestOp): ITxnRequest {
  const k = Buffer.from(key);
  const compare: ICompare[] = [{ key: k, target: CompareTarget.Version, result: CompareResult.Greater, version: 0 }];
  if (expected !== undefined) compare.push({ key: k, target: CompareTarget.Mod, result: CompareResult.Equal, mod_revision: expected });
  return { compare, success: [op], failure: [read(key)] };
}

/** Throws why a createTxn was refused. */
export function assertCreated(res: ITxnResponse, key: string): void {
  if (!res.succeeded) throw new KeyExistsError(key, Number(res.responses[0]!.response_range.kvs[0]!.mod_revision));
}

/** Throws why a changeTxn was refused. */
export function assertChanged(res: ITxnResponse, key: string, expected: number | undefined): void {
  if (res.succeeded) return;
  const kv = res.responses[0]?.response_range.kvs[0];
  if (!kv) throw new KeyNotFoundError(key);
  throw new ConflictError(key, expected!, Number(kv.mod_revision));
}

/** The value a deleteOp removed. */
export const deleted = (res: ITxnResponse): KeyValue => toKeyValue(res.responses[0]!.response_delete_range.prev_kvs[0]!);
