// etcd's snapshot stream written to a file: the bolt database followed by the sha256 of it, which
// `etcdctl snapshot restore` checks. The file is checked here too before it counts as taken.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import type { IResponseStream, ISnapshotResponse } from 'etcd3';
import { SnapshotError } from './snapshot.js';

const HASH_BYTES = 32;

export async function writeEtcdSnapshot(stream: IResponseStream<ISnapshotResponse>, file: string): Promise<void> {
  const out = fs.createWriteStream(file, { mode: 0o600 });
  await new Promise<void>((resolve, reject) => {
    stream.on('data', (chunk: ISnapshotResponse) => out.write(chunk.blob));
    stream.on('error', reject);
    stream.on('end', () => out.end(resolve));
    out.on('error', reject);
  });
  checkEtcdSnapshot(file);
}

/** Throws unless the file ends with the sha256 of what comes before it. */
export function checkEtcdSnapshot(file: string): void {
  const data = fs.readFileSync(file);
  const body = data.subarray(0, data.length - HASH_BYTES);
  const sum = data.subarray(data.length - HASH_BYTES);
  if (data.length <= HASH_BYTES || !createHash('sha256').update(body).digest().equals(sum))
    throw new SnapshotError(`${file} is not a whole etcd snapshot: its sha256 does not match`);
}
