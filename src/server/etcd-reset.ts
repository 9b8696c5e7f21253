// --cluster-reset on embedded etcd, as K3s does it: the member becomes a cluster of itself alone
// (etcd's --force-new-cluster, keeping its data), or, with --cluster-reset-restore-path, is made
// anew from a snapshot (`etcdctl snapshot restore` into a new data dir; the old one is kept beside
// it). Then the server stops: it is started again without the flags, and the other servers rejoin
// with their etcd data removed.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { ConfigError } from '../k8s/config-error.js';
import { log } from '../log.js';
import { checkEtcdSnapshot } from '../store/etcd-snapshot.js';
import { etcdDataDir } from './db-paths.js';
import { type EtcdMemberOptions, memberPeerUrl, startEtcdMember } from './etcd-member.js';

/** Puts the snapshot's data in the member's data dir, the old data moved to etcd-old-<time>. */
async function restore(o: EtcdMemberOptions, snapshot: string): Promise<string | undefined> {
  if (!fs.statSync(snapshot, { throwIfNoEntry: false })?.isFile())
    throw new ConfigError(`--cluster-reset-restore-path: no snapshot file ${snapshot}`);
  try {
    checkEtcdSnapshot(snapshot);
  } catch (err) {
    throw new ConfigError(`--cluster-reset-restore-path: ${(err as Error).message}`);
  }
  const dir = etcdDataDir(o.dataDir);
  const old = fs.existsSync(dir) ? path.join(path.dirname(dir), `etcd-old-${Math.floor(Date.now() / 1000)}`) : undefined;
  if (old) fs.renameSync(dir, old);
  const peer = memberPeerUrl(o.address, o.peerPort);
  try {
    await promisify(execFile)(
      'etcdctl',
      [
        'snapshot',
        'restore',
        snapshot,
        `--data-dir=${dir}`,
        `--name=${o.name}`,
        `--initial-cluster=${o.name}=${peer}`,
        `--initial-advertise-peer-urls=${peer}`,
      ],
      { env: { ...process.env, ETCDCTL_API: '3' } },
    );
  } catch (err) {
    if (old) {
      fs.rmSync(dir, { recursive: true, force: true });
      fs.renameSync(old, dir);
    }
    const e = err as { code?: string; stderr?: string };
    if (e.code === 'ENOENT') throw new ConfigError('--cluster-reset-restore-path needs etcdctl: apt-get install etcd-client');
    throw new ConfigError(`--cluster-reset-restore-path: etcdctl snapshot restore failed: ${e.stderr?.trim() ?? (err as Error).message}`);
  }
  return old;
}

export async function resetEtcdMember(o: EtcdMemberOptions, snapshot?: string): Promise<void> {
  const old = snapshot ? await restore(o, path.resolve(snapshot)) : undefined;
  const member = await startEtcdMember({ ...o, join: undefined, extraArgs: [...(o.extraArgs ?? []), 'force-new-cluster=true'] });
  await member.stop();
  log.info(
    { snapshot, old },
    'Managed etcd cluster membership has been reset, restart without --cluster-reset now. ' +
      `Back up and delete ${path.dirname(etcdDataDir(o.dataDir))} on each other server, and start them again to rejoin`,
  );
}
