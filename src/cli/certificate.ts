// `skiff certificate rotate`, as K3s's: with the server stopped, the certificates of the chosen
// services (default all) are backed up with the rest of <data-dir>/server/tls to
// <data-dir>/server/tls-<unix time> and removed, so the next start issues new ones from the same CAs
// (agents and service account tokens keep working; the admin kubeconfig is written anew). On an
// agent's data dir, `kubelet` removes the node's client certificate: the next start joins again with
// its token. The CAs themselves are not rotated.
import fs from 'node:fs';
import path from 'node:path';
import type { Command as Program } from 'commander';
import { openSqliteStore } from '../store/index.js';
import { StoreOpenError } from '../store/errors.js';
import { resolveSettings } from './config.js';
import { UsageError } from './values.js';

/** Each service and the files under <data-dir>/server/tls that hold its certificates. */
export const SERVER_SERVICES: Record<string, string[]> = {
  admin: ['client-admin'],
  'api-server': ['serving-kube-apiserver', 'client-kube-apiserver'],
};
const AGENT_SERVICE = 'kubelet';
const SERVICES = [...Object.keys(SERVER_SERVICES), AGENT_SERVICE];

export interface RotateResult {
  lines: string[];
}

/** Rotates the certificates of `services` under `dataDir`; throws a UsageError for anything it cannot do. */
export async function rotateCertificates(dataDir: string, services: string[]): Promise<RotateResult> {
  for (const s of services)
    if (!SERVICES.includes(s)) throw new UsageError(`${s} is not a recognized service (services: ${SERVICES.join(', ')})`);
  const chosen = services.length ? services : SERVICES;
  const tls = path.join(dataDir, 'server', 'tls');
  const agentDir = path.join(dataDir, 'agent');
  const isServer = fs.existsSync(tls);
  if (!isServer && !fs.existsSync(path.join(agentDir, 'client-node.crt')))
    throw new UsageError(
      `no certificates to rotate under ${dataDir}: neither a server's (server/tls) nor an agent's (agent/client-node.crt)`,
    );
  const lines: string[] = [];
  if (isServer) {
    // The server holds its datastore locked while it runs: rotating under it would change nothing it serves.
    const db = path.join(dataDir, 'server', 'db', 'state.db');
    if (fs.existsSync(db)) {
      try {
        await (await openSqliteStore({ file: db })).close();
      } catch (err) {
        if (err instanceof StoreOpenError && /in use/.test(err.message))
          throw new UsageError('skiff server is running on this data dir: stop it, then rotate');
        throw err;
      }
    }
    lines.push('Server detected, rotating server certificates');
    let backup = `${tls}-${Math.floor(Date.now() / 1000)}`;
    for (let i = 1; fs.existsSync(backup); i++) backup = `${tls}-${Math.floor(Date.now() / 1000)}-${i}`;
    fs.cpSync(tls, backup, { recursive: true, preserveTimestamps: true });
    for (const service of chosen.filter((s) => s in SERVER_SERVICES)) {
      lines.push(`Rotating certificates for ${service} service`);
      for (const name of SERVER_SERVICES[service]!)
        for (const ext of ['crt', 'key']) fs.rmSync(path.join(tls, `${name}.${ext}`), { force: true });
    }
    lines.push(
      `Successfully backed up certificates for all services to path ${backup}, please restart skiff server to rotate certificates`,
    );
  }
  if (chosen.includes(AGENT_SERVICE) && fs.existsSync(path.join(agentDir, 'client-node.crt'))) {
    lines.push(`Rotating certificates for ${AGENT_SERVICE} service`);
    for (const f of ['client-node.crt', 'client-node.key']) fs.rmSync(path.join(agentDir, f), { force: true });
    if (!isServer) lines.push('Successfully removed the node client certificate, please restart skiff agent to rotate certificates');
  }
  return { lines };
}

export function certificateCommand(program: Program): void {
  const certificate = program.command('certificate').description('manage the certificates of a server or agent');
  certificate
    .command('rotate')
    .description('with skiff stopped, back up and remove the certificates of the chosen services, so the next start issues new ones')
    .option('-s, --service <name>', `a service to rotate: ${SERVICES.join(', ')} (default all)`, (v: string, prev: string[] = []) => [
      ...prev,
      ...v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    ])
    .option('--data-dir <dir>', 'the data dir of the server or agent')
    .option('--config <file>', 'its config file')
    .action(async (opts: { service?: string[]; dataDir?: string; config?: string }) => {
      const cli: Record<string, unknown> = {};
      if (opts.dataDir !== undefined) cli['data-dir'] = opts.dataDir;
      if (opts.config !== undefined) cli.config = opts.config;
      const dataDir = resolveSettings('server', cli)['data-dir'] as string;
      const { lines } = await rotateCertificates(dataDir, opts.service ?? []);
      for (const line of lines) process.stdout.write(`${line}\n`);
    });
}
