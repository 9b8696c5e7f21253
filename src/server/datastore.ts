// The server's datastore and the cluster PKI, which come together: a server alone keeps SQLite in
// its data dir and makes its own CAs; servers sharing a datastore (--datastore-endpoint) share the
// CAs through it, sealed with the token (bootstrap.ts), so the first one makes them and the others
// take them; a server of an embedded etcd cluster runs its member (etcd-member.ts), and one joining
// with --server first takes the cluster's bootstrap data from that server and is added as a member.
import fs from 'node:fs';
import path from 'node:path';
import { joinRequest, trustedCa } from '../agent/join.js';
import { ETCD_MEMBERS_PATH, SERVER_BOOTSTRAP_PATH } from '../apiserver/server-join-routes.js';
import { ConfigError } from '../k8s/config-error.js';
import { ensureClusterPki, type ClusterPki } from '../pki/cluster-pki.js';
import { ensureEtcdPki } from '../pki/etcd-pki.js';
import { parseJoinToken } from '../pki/join-token.js';
import { openEtcdStore, openPostgresStore, openSqliteStore, parseEtcdEndpoints, type Store } from '../store/index.js';
import { openBootstrap, saveBootstrap, takeBootstrap, writeBootstrap } from './bootstrap.js';
import type { ServerConfig } from './config.js';
import { etcdDataDir, sqliteFile } from './db-paths.js';
// etcd's client (gRPC) is loaded only by a server that runs etcd: the others start without it.
import type { EtcdMember } from './etcd-member.js';

export interface Datastore<T> {
  store: Store;
  pki: ClusterPki;
  /** What `prepare` made. */
  prepared: T;
  /** The embedded etcd member, when the server runs one. */
  etcd?: EtcdMember;
  /**
   * On SQLite: commits are not fsynced one by one until this is called, which the server does before
   * its API answers anyone (a first start writes a few hundred objects: RBAC, namespaces, ...).
   */
  syncEachCommit?: () => Promise<void>;
}

/** The external datastore of --datastore-endpoint, by its scheme. */
async function openShared(endpoint: string, c: ServerConfig): Promise<Store> {
  const tls = c.datastoreTls;
  // MySQL's driver is loaded only by a server that uses it.
  if (/^mysql:/i.test(endpoint)) return (await import('../store/mysql.js')).openMysqlStore({ endpoint, tls });
  if (/^https?:/i.test(endpoint)) return openEtcdStore({ endpoints: parseEtcdEndpoints(endpoint), tls });
  return openPostgresStore({ endpoint, tls });
}

/** Whether this server runs embedded etcd: asked to, or it did before (K3s keeps it too). */
export function runsEmbeddedEtcd(c: ServerConfig): boolean {
  return !c.datastoreEndpoint && (c.clusterInit || c.server !== undefined || fs.existsSync(etcdDataDir(c.dataDir)));
}

/** A joining server's calls to the server it joins, with the server token's secret. */
async function callServer(server: string, secret: string, caPem: string, method: string, path: string, body?: unknown) {
  const authorization = `Basic ${Buffer.from(`server:${secret}`).toString('base64')}`;
  const answer = await joinRequest(new URL(path, server), {
    method,
    ca: caPem,
    headers: { authorization, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (answer.status === 401) throw new ConfigError(`${server} refused the token: give the --token of the cluster's servers`);
  if (answer.status !== 200) throw new ConfigError(`${server} answered ${path} with HTTP ${answer.status}: ${answer.text.slice(0, 300)}`);
  return answer.text;
}

/** --cluster-reset of this server's etcd member (etcd-reset.ts), with the PKI it needs. */
export async function resetEmbeddedEtcd(c: ServerConfig, sans: string[], address: string): Promise<void> {
  const pki = await ensureClusterPki(c.dataDir, { sans });
  const etcdPki = await ensureEtcdPki(c.dataDir, pki.serverCa, [address]);
  const { resetEtcdMember } = await import('./etcd-reset.js');
  await resetEtcdMember({ dataDir: c.dataDir, name: c.nodeName, address, pki: etcdPki, extraArgs: c.etcdArgs }, c.clusterResetRestorePath);
}

/**
 * Runs this server's etcd member: the first of a new cluster (--cluster-init), one joining through
 * --server on its first start (the cluster's bootstrap data, then MemberAdd), or a restart of either.
 */
async function openEmbeddedEtcd<T>(
  c: ServerConfig,
  secret: string,
  address: string,
  makePki: () => Promise<ClusterPki>,
  prepare: () => T,
): Promise<Datastore<T>> {
  const { memberPeerUrl, startEtcdMember } = await import('./etcd-member.js');
  const joining = c.server !== undefined && !fs.existsSync(path.join(etcdDataDir(c.dataDir), 'member'));
  let caPem = '';
  if (joining) {
    caPem = await trustedCa(c.server!, parseJoinToken(c.token!));
    const blob = await callServer(c.server!, secret, caPem, 'GET', SERVER_BOOTSTRAP_PATH);
    writeBootstrap(c.dataDir, openBootstrap(Buffer.from(blob), secret));
  }
  const etcdPki = await ensureEtcdPki(c.dataDir, (await makePki()).serverCa, [address]);
  const join = joining
    ? (
        JSON.parse(
          await callServer(c.server!, secret, caPem, 'POST', ETCD_MEMBERS_PATH, { name: c.nodeName, peerURL: memberPeerUrl(address) }),
        ) as { initialCluster: string }
      ).initialCluster
    : undefined;
  const etcd = await startEtcdMember({ dataDir: c.dataDir, name: c.nodeName, address, pki: etcdPki, join, extraArgs: c.etcdArgs });
  try {
    return {
      ...(await shareBootstrap(await openEtcdStore({ endpoints: etcd.endpoints, tls: etcd.tls }), c, secret, makePki, prepare)),
      etcd,
    };
  } catch (err) {
    await etcd.stop();
    throw err;
  }
}

/**
 * The cluster's bootstrap data in a datastore several servers share: taken if there (what a server
 * that started first, or a secrets-encrypt change since, left), else saved for the others.
 */
async function shareBootstrap<T>(
  store: Store,
  c: ServerConfig,
  secret: string,
  makePki: () => Promise<ClusterPki>,
  prepare: () => T,
): Promise<Datastore<T>> {
  try {
    if (await takeBootstrap(store, c.dataDir, secret)) return { store, pki: await makePki(), prepared: prepare() };
    const pki = await makePki();
    const prepared = prepare();
    if (await saveBootstrap(store, c.dataDir, secret)) return { store, pki, prepared };
    // Another server saved first: its files are taken, and this server's certificates issued again.
    return { store, pki: await makePki(), prepared: prepare() };
  } catch (err) {
    await store.close();
    throw err;
  }
}

/**
 * Opens the datastore and makes (or takes) the PKI. `secret` is the token's: with a shared datastore
 * it names and seals the cluster's bootstrap data there. `address` is where the other servers reach
 * this one (its etcd member's too). `prepare` makes the rest of what that data
 * holds (the secrets-encryption config) once the cluster's files are in the data dir, or before
 * this server's are saved.
 */
export async function openDatastore<T>(
  c: ServerConfig,
  secret: string,
  sans: string[],
  address: string,
  prepare: () => T,
): Promise<Datastore<T>> {
  const makePki = () => ensureClusterPki(c.dataDir, { sans });
  if (runsEmbeddedEtcd(c)) return openEmbeddedEtcd(c, secret, address, makePki, prepare);
  if (!c.datastoreEndpoint) {
    const store = await openSqliteStore({ file: sqliteFile(c.dataDir), deferSync: true });
    return { store, pki: await makePki(), prepared: prepare(), syncEachCommit: () => store.syncEachCommit() };
  }
  return shareBootstrap(await openShared(c.datastoreEndpoint, c), c, secret, makePki, prepare);
}
