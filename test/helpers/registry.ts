// A real image registry for tests: Debian's docker-registry (distribution) on 127.0.0.1, in a temp
// folder, optionally over TLS (a CA of the test's own, client certificates required) and with basic
// auth (htpasswd with bcrypt, from apache2-utils); skopeo pushes the locally built test images to it.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Test } from 'tap';
import YAML from 'yaml';
import { createCA, issueCertificate, type KeyPair } from '../../src/pki/certificates.js';
import { freePort } from './cluster.js';
import { buildBusyboxImage } from './images.js';
import { eventually } from './eventually.js';
import { tempDir } from './tmp.js';

export interface TestRegistryOptions {
  /** Serve HTTPS with a certificate for 127.0.0.1 and localhost from `tls`, asking for client certificates. */
  tls?: TestPki;
  /** Require this user (basic auth). */
  user?: { name: string; password: string };
  /** A port chosen up front (a registry that comes up later); default a free one. */
  port?: number;
}

/** A CA, the registry's serving certificate and a client certificate, as files. */
export interface TestPki {
  caFile: string;
  certFile: string;
  keyFile: string;
  clientCertFile: string;
  clientKeyFile: string;
  /** skopeo's --dest-cert-dir layout (ca.crt, client.cert, client.key). */
  certDir: string;
}

export async function makeTestPki(dir: string): Promise<TestPki> {
  const ca = await createCA('skiff test registry CA');
  const server = await issueCertificate(ca, { commonName: 'registry', sans: ['127.0.0.1', 'localhost'], usage: 'server' });
  const client = await issueCertificate(ca, { commonName: 'skiff-node', usage: 'client' });
  const write = (name: string, text: string) => {
    fs.writeFileSync(path.join(dir, name), text, { mode: 0o600 });
    return path.join(dir, name);
  };
  const certDir = path.join(dir, 'skopeo-certs');
  fs.mkdirSync(certDir);
  const pair = (p: KeyPair, base: string) => [write(`${base}.pem`, p.certPem), write(`${base}-key.pem`, p.keyPem)];
  for (const [name, text] of [
    ['ca.crt', ca.certPem],
    ['client.cert', client.certPem],
    ['client.key', client.keyPem],
  ])
    fs.writeFileSync(path.join(certDir, name!), text!);
  const [certFile, keyFile] = pair(server, 'server');
  const [clientCertFile, clientKeyFile] = pair(client, 'client');
  return {
    caFile: write('ca.pem', ca.certPem),
    certFile: certFile!,
    keyFile: keyFile!,
    clientCertFile: clientCertFile!,
    clientKeyFile: clientKeyFile!,
    certDir,
  };
}

export interface TestRegistry {
  /** host:port, as in image names. */
  host: string;
  port: number;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Builds a busybox image whose command is `cmd` and pushes it as `<host>/<repo>`. */
  push(repo: string, cmd?: string[]): Promise<void>;
}

const run = promisify(execFile);

export async function testRegistry(t: Test, opts: TestRegistryOptions = {}): Promise<TestRegistry> {
  const dir = tempDir(t, 'skiff-registry-');
  const port = opts.port ?? (await freePort());
  const host = `127.0.0.1:${port}`;
  const config: Record<string, unknown> = {
    version: 0.1,
    log: { level: 'warn', accesslog: { disabled: true } },
    storage: { filesystem: { rootdirectory: path.join(dir, 'data') } },
    http: {
      addr: host,
      ...(opts.tls ? { tls: { certificate: opts.tls.certFile, key: opts.tls.keyFile, clientcas: [opts.tls.caFile] } } : {}),
    },
  };
  if (opts.user) {
    // bcrypt, the only hash distribution accepts.
    const { stdout } = await run('htpasswd', ['-nbB', opts.user.name, opts.user.password]);
    fs.writeFileSync(path.join(dir, 'htpasswd'), `${stdout.trim()}\n`);
    config.auth = { htpasswd: { realm: 'skiff-test', path: path.join(dir, 'htpasswd') } };
  }
  fs.writeFileSync(path.join(dir, 'config.yml'), YAML.stringify(config));
  let child: ChildProcess | undefined;
  let log = '';

  const registry: TestRegistry = {
    host,
    port,
    async start() {
      log = '';
      child = spawn('docker-registry', ['serve', path.join(dir, 'config.yml')], { stdio: ['ignore', 'pipe', 'pipe'] });
      child.stdout!.on('data', (d: Buffer) => (log = (log + d).slice(-5000)));
      child.stderr!.on('data', (d: Buffer) => (log = (log + d).slice(-5000)));
      const started = child;
      await eventually(
        async () => {
          if (started.exitCode !== null) throw new Error(`docker-registry exited (${started.exitCode})`);
          return answers(port, opts.tls);
        },
        { timeout: 30_000, what: `docker-registry to answer on ${host}`, explain: () => log },
      );
    },
    async stop() {
      const c = child;
      child = undefined;
      if (!c || c.exitCode !== null || c.signalCode !== null) return;
      const exited = new Promise((r) => c.once('exit', r));
      c.kill('SIGTERM');
      await exited;
    },
    async push(repo, cmd = ['sleep', '3600']) {
      const work = fs.mkdtempSync(path.join(dir, 'push-'));
      try {
        const tarball = buildBusyboxImage(work, `${host}/${repo}`, cmd);
        const args = ['copy', '--insecure-policy', '--quiet', `oci-archive:${tarball}`, `docker://${host}/${repo}`];
        if (opts.tls) args.push('--dest-cert-dir', opts.tls.certDir);
        else args.push('--dest-tls-verify=false');
        if (opts.user) args.push('--dest-creds', `${opts.user.name}:${opts.user.password}`);
        await run('skopeo', args, { env: { PATH: process.env.PATH, HOME: work, TMPDIR: work } });
      } finally {
        fs.rmSync(work, { recursive: true, force: true });
      }
    },
  };
  t.teardown(() => registry.stop());
  return registry;
}

/** Whether the registry answers /v2/ at all (200, or 401 when it wants credentials). */
function answers(port: number, pki?: TestPki): Promise<boolean> {
  return new Promise((resolve) => {
    const onResponse = (res: http.IncomingMessage) => {
      res.resume();
      resolve(res.statusCode === 200 || res.statusCode === 401);
    };
    const req = pki
      ? https.get(
          {
            host: '127.0.0.1',
            port,
            path: '/v2/',
            ca: fs.readFileSync(pki.caFile),
            cert: fs.readFileSync(pki.clientCertFile),
            key: fs.readFileSync(pki.clientKeyFile),
            timeout: 2000,
          },
          onResponse,
        )
      : http.get({ host: '127.0.0.1', port, path: '/v2/', timeout: 2000 }, onResponse);
    req.on('error', () => resolve(false));
    req.on('timeout', () => req.destroy());
  });
}
