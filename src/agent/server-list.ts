// The API servers an agent knows, as K3s's agent load balancer keeps them: the configured --server
// first, then every server the default/kubernetes Endpoints name (each server publishes its
// advertise address and port there), followed through an informer. The list is saved to
// <data-dir>/agent/etc/skiff-agent-load-balancer.json, so that an agent restarted while its --server
// is down still finds the others.
import fs from 'node:fs';
import path from 'node:path';
import type { Endpoints } from 'kubernetes-types/core/v1.js';
import { Informer } from '../client/informer.js';
import type { ApiClient } from '../client/rest-client.js';
import { endpoints as endpointsType } from '../client/resources.js';
import { ConfigError } from '../k8s/config-error.js';
import { log } from '../log.js';
import { writeAtomic } from './join.js';

/** Where the list is kept (K3s: <data-dir>/agent/etc/k3s-agent-load-balancer.json). */
export function serverListFile(dataDir: string): string {
  return path.join(dataDir, 'agent', 'etc', 'skiff-agent-load-balancer.json');
}

/** What the file holds: the --server it was made for, and the servers the cluster published. */
interface SavedList {
  serverURL: string;
  servers: string[];
}

/** A server's URL as the list compares them: scheme, host and port (`https://10.0.0.1:6443`). */
function origin(url: string): string {
  return new URL(url).origin;
}

function configuredOrigin(server: string): string {
  let url: URL | undefined;
  try {
    url = new URL(server);
  } catch {}
  if (url?.protocol !== 'https:') throw new ConfigError(`--server ${server}: not an https:// URL (https://host:port)`);
  return url.origin;
}

/** The servers an Endpoints object names: each ready address with the https port (or its only port). */
export function endpointServers(ep: Endpoints): string[] {
  const urls: string[] = [];
  for (const subset of ep.subsets ?? []) {
    const ports = subset.ports ?? [];
    const https = ports.filter((p) => p.name === 'https');
    for (const port of https.length ? https : ports.length === 1 ? ports : [])
      for (const address of subset.addresses ?? [])
        urls.push(origin(`https://${address.ip.includes(':') ? `[${address.ip}]` : address.ip}:${port.port}`));
  }
  return [...new Set(urls)];
}

export class ServerList {
  readonly configured: string;
  private published: string[] = [];
  /** Saves one after the other, the last list last. */
  private saving = Promise.resolve();
  private informer?: Informer<Endpoints>;

  constructor(
    configured: string,
    private readonly file: string,
  ) {
    this.configured = configuredOrigin(configured);
    this.published = this.load();
  }

  /** The configured server first, then the others the cluster published. */
  servers(): string[] {
    return [this.configured, ...this.published.filter((s) => s !== this.configured)];
  }

  /** Takes the servers the cluster publishes now; those no longer published leave the list. */
  update(published: string[]): void {
    const next = [...new Set(published.map(origin))];
    if (next.length === this.published.length && next.every((s, i) => s === this.published[i])) return;
    log.info({ servers: next }, 'API servers published by the cluster');
    this.published = next;
    this.saving = this.saving.then(() => this.save());
  }

  /**
   * Keeps the list current from default/kubernetes until stop(). Its deletion changes nothing: it is
   * gone for a moment (a server writes it again when it starts), the servers it named have not gone.
   */
  follow(api: ApiClient): this {
    this.informer ??= new Informer(api.resource(endpointsType), {
      namespace: 'default',
      fieldSelector: 'metadata.name=kubernetes',
    })
      .on({
        add: (ep) => this.update(endpointServers(ep)),
        update: (_, ep) => this.update(endpointServers(ep)),
      })
      .start();
    return this;
  }

  stop(): void {
    this.informer?.stop();
  }

  /** Once the lists taken so far are on the disk. */
  saved(): Promise<void> {
    return this.saving;
  }

  /** The servers saved for this --server; a list saved for another one may be another cluster's. */
  private load(): string[] {
    let text: string;
    try {
      text = fs.readFileSync(this.file, 'utf8');
    } catch {
      return [];
    }
    try {
      const saved = JSON.parse(text) as SavedList;
      if (origin(saved.serverURL) !== this.configured) return [];
      return [...new Set(saved.servers.map(origin))];
    } catch (err) {
      log.warn({ file: this.file, err: (err as Error).message }, 'ignoring an unreadable server list');
      return [];
    }
  }

  private async save(): Promise<void> {
    const saved: SavedList = { serverURL: this.configured, servers: this.published };
    try {
      fs.mkdirSync(path.dirname(this.file), { recursive: true, mode: 0o700 });
      await writeAtomic(this.file, `${JSON.stringify(saved, null, 2)}\n`, 0o644);
    } catch (err) {
      log.warn({ file: this.file, err: (err as Error).message }, 'cannot save the server list');
    }
  }
}
