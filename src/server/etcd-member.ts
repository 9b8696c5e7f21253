// The embedded etcd member of `skiff server --cluster-init` (and of servers that join it): Debian's
// etcd run as a child process, restarted with backoff when it exits on its own, and killed with the
// server even when the server itself is SIGKILLed (setpriv --pdeathsig), so that no orphan keeps the
// member alive or its ports busy. Its data is under <data-dir>/server/db/etcd, its TLS from etcd-pki.ts.
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import { isIP } from 'node:net';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { Etcd3, type IOptions } from 'etcd3';
import { sleep } from '../k8s/clock.js';
import { ConfigError } from '../k8s/config-error.js';
import { type Exit, Supervisor } from '../k8s/supervisor.js';
import { log } from '../log.js';
import type { EtcdPki } from '../pki/etcd-pki.js';
import { etcdDataDir } from './db-paths.js';
import type { Tls } from '../store/postgres-log.js';

export const DEFAULT_CLIENT_PORT = 2379;
export const DEFAULT_PEER_PORT = 2380;

export interface EtcdMemberOptions {
  /** Skiff's data dir: the member's data is in <dataDir>/server/db/etcd. */
  dataDir: string;
  /** The member's name: the node's name. */
  name: string;
  /** The IP address the member listens on and that clients and peers reach it at. */
  address: string;
  clientPort?: number;
  peerPort?: number;
  pki: EtcdPki;
  /**
   * For the first start of a member that joins a cluster: the `initial-cluster` that addMember
   * answered. Without it a first start makes a new cluster of this member alone. Once the data dir
   * holds a member, restarts reuse it and neither matters.
   */
  join?: string;
  /** K3s's --etcd-arg items, name=value; they win over Skiff's own settings. */
  extraArgs?: string[];
  /** How long to wait for the member to serve (default 5 minutes: a restarted member waits for its quorum). */
  readyTimeoutMs?: number;
}

export interface EtcdMember {
  /** Where this server's own store reaches the member (loopback). */
  endpoints: string[];
  /** The client certificate, key and CA to connect with. */
  tls: Required<Tls>;
  /** The etcd process's id, while it runs. */
  readonly pid: number | undefined;
  /** Stops the member (SIGTERM, then SIGKILL); the data stays. */
  stop(): Promise<void>;
}

const url = (address: string, port: number) => `https://${isIP(address) === 6 ? `[${address}]` : address}:${port}`;

/** The peer URL of a member at `address`: what a joining server asks the cluster to add. */
export const memberPeerUrl = (address: string, peerPort = DEFAULT_PEER_PORT): string => url(address, peerPort);

/** etcd writes its WAL at first start: from then on it ignores the initial-cluster settings. */
const holdsMember = (dir: string) => fs.existsSync(path.join(dir, 'member', 'wal'));

/** Heartbeat and election timeout as K3s sets them: slower than etcd's defaults, for SD cards and busy Pis. */
const TIMING = { 'heartbeat-interval': '500', 'election-timeout': '5000', 'snapshot-count': '10000' };

/** The --etcd-arg items as flag names and values; a bad item is a ConfigError. */
export function parseEtcdArgs(items: string[]): Record<string, string> {
  const flags: Record<string, string> = {};
  for (const item of items) {
    const m = /^-{0,2}([a-z0-9][a-z0-9-]*)=(.*)$/s.exec(item);
    if (!m) throw new ConfigError(`invalid --etcd-arg ${JSON.stringify(item)}: expected name=value, e.g. quota-backend-bytes=8589934592`);
    flags[m[1]!] = m[2]!;
  }
  return flags;
}

/** etcd's command line for one start of the member. */
export function etcdFlags(o: EtcdMemberOptions, firstStart: boolean): string[] {
  const clientPort = o.clientPort ?? DEFAULT_CLIENT_PORT;
  const peerUrl = memberPeerUrl(o.address, o.peerPort);
  const loopback = url(isIP(o.address) === 6 ? '::1' : '127.0.0.1', clientPort);
  const initial = { 'initial-cluster': o.join ?? `${o.name}=${peerUrl}`, 'initial-cluster-state': o.join ? 'existing' : 'new' };
  const flags: Record<string, string> = {
    name: o.name,
    'data-dir': etcdDataDir(o.dataDir),
    'listen-client-urls': [...new Set([loopback, url(o.address, clientPort)])].join(','),
    'advertise-client-urls': url(o.address, clientPort),
    'listen-peer-urls': peerUrl,
    'initial-advertise-peer-urls': peerUrl,
    'cert-file': o.pki.server.cert,
    'key-file': o.pki.server.key,
    'trusted-ca-file': o.pki.caFile,
    'client-cert-auth': 'true',
    'peer-cert-file': o.pki.peer.cert,
    'peer-key-file': o.pki.peer.key,
    'peer-trusted-ca-file': o.pki.caFile,
    'peer-client-cert-auth': 'true',
    ...TIMING,
    logger: 'zap',
    'log-outputs': 'stderr',
    ...(firstStart ? initial : {}),
    ...parseEtcdArgs(o.extraArgs ?? []),
  };
  return Object.entries(flags).map(([k, v]) => `--${k}=${v}`);
}

/** A client of the member(s) at `endpoints` with the given TLS files. */
export function etcdClient(endpoints: string[], tls: Required<Tls>, options: Partial<IOptions> = {}): Etcd3 {
  return new Etcd3({
    hosts: endpoints,
    credentials: {
      rootCertificate: fs.readFileSync(tls.cafile),
      certChain: fs.readFileSync(tls.certfile),
      privateKey: fs.readFileSync(tls.keyfile),
    },
    ...options,
  });
}

/** Both programs are there: setpriv (util-linux) and etcd (Debian's etcd-server). */
async function checkInstalled(): Promise<void> {
  try {
    await promisify(execFile)('setpriv', ['--pdeathsig', 'KILL', '--', 'etcd', '--version']);
  } catch (err) {
    const e = err as { code?: string | number };
    if (e.code === 'ENOENT') throw new ConfigError('--cluster-init needs setpriv: apt-get install util-linux');
    if (e.code === 127) throw new ConfigError('--cluster-init needs etcd: apt-get install etcd-server');
    throw err;
  }
}

/** etcd 3.4 runs on arm and arm64 only when told that it may. */
function etcdEnv(): NodeJS.ProcessEnv {
  const goArch = { arm: 'arm', arm64: 'arm64' }[process.arch as string];
  return goArch ? { ...process.env, ETCD_UNSUPPORTED_ARCH: goArch } : process.env;
}

/** Enough for etcd's complaint about a bad flag, which comes before its usage text. */
const LAST_LINES = 40;

/** Starts the member and resolves once it serves reads through its client port. */
export async function startEtcdMember(o: EtcdMemberOptions): Promise<EtcdMember> {
  if (!isIP(o.address) || /^(0\.0\.0\.0|::)$/.test(o.address))
    throw new ConfigError(`etcd needs the IP address it is reached at, not ${JSON.stringify(o.address)}`);
  parseEtcdArgs(o.extraArgs ?? []);
  await checkInstalled();
  const dir = etcdDataDir(o.dataDir);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const lastLines: string[] = [];
  const keep = (line: string) => {
    if (!line.trim()) return;
    lastLines.push(line);
    if (lastLines.length > LAST_LINES) lastLines.shift();
    logLine(o.name, line);
  };
  let ready = false;
  let earlyExit: Exit | undefined;
  const supervisor = new Supervisor({
    spawn: () => {
      const child = spawn('setpriv', ['--pdeathsig', 'KILL', '--', 'etcd', ...etcdFlags(o, !holdsMember(dir))], {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: etcdEnv(),
      });
      for (const stream of [child.stdout, child.stderr]) createInterface({ input: stream }).on('line', keep);
      return child;
    },
    onExit: (exit) => {
      // Before it was ready, the start fails instead (below).
      if (!ready) earlyExit ??= exit;
      else log.warn({ member: o.name, ...exit, lastLine: lastLines.at(-1) }, 'etcd exited; restarting');
    },
    onError: (err) => log.error({ err: err.message }, 'cannot start etcd'),
  });
  supervisor.start();

  const clientPort = o.clientPort ?? DEFAULT_CLIENT_PORT;
  const endpoints = [url(isIP(o.address) === 6 ? '::1' : '127.0.0.1', clientPort)];
  const tls: Required<Tls> = { cafile: o.pki.caFile, certfile: o.pki.client.cert, keyfile: o.pki.client.key };
  const failed = async (why: string) => {
    await supervisor.stop();
    return new Error(`etcd member ${o.name} ${why}; its last lines:\n${lastLines.join('\n')}`);
  };
  const timeoutMs = o.readyTimeoutMs ?? 300_000;
  const end = Date.now() + timeoutMs;
  while (!(await serves(endpoints, tls))) {
    if (earlyExit) throw await failed(`exited (code ${earlyExit.code}, signal ${earlyExit.signal}) before it was ready`);
    if (Date.now() > end) throw await failed(`did not serve within ${timeoutMs / 1000} s`);
    await sleep(200);
  }
  ready = true;
  return {
    endpoints,
    tls,
    get pid() {
      return supervisor.pid;
    },
    stop: () => supervisor.stop(),
  };
}

/**
 * Whether a linearizable read succeeds, as `etcdctl endpoint health` checks: the member is up and
 * part of a cluster with a leader. A client per try, so that the failures while etcd starts do not
 * trip the circuit breaker the client keeps per host.
 */
async function serves(endpoints: string[], tls: Required<Tls>): Promise<boolean> {
  const client = etcdClient(endpoints, tls, { dialTimeout: 2000 });
  try {
    await client
      .get('health')
      .options({ deadline: Date.now() + 2000 })
      .string();
    return true;
  } catch {
    return false;
  } finally {
    client.close();
  }
}

/** etcd's own log (zap JSON lines) goes to Skiff's at debug level, its message first. */
function logLine(member: string, line: string): void {
  try {
    const { msg, ...fields } = JSON.parse(line) as { msg?: string };
    log.debug({ member, etcd: fields }, `etcd: ${msg}`);
  } catch {
    log.debug({ member }, `etcd: ${line}`);
  }
}
