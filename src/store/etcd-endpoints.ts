// The etcd endpoints of K3s's --datastore-endpoint: one client URL or several, comma-separated.
// Apart from the etcd client, so that reading a flag does not load gRPC.
import { StoreOpenError } from './errors.js';

const DEFAULT_PORT = 2379;
const ENDPOINT = /^(https?):\/\/(\[[0-9a-fA-F:.]+\]|[^\s/:?#@[\]]+)(?::(\d+))?\/?$/;

/**
 * The etcd client URLs in `text` (`https://a:2379,https://b:2379`), as scheme://host:port; the port
 * is etcd's 2379 when none is given. All http or all https: one client cannot mix them.
 */
export function parseEtcdEndpoints(text: string): string[] {
  const endpoints = text.split(',').map((item) => {
    const m = ENDPOINT.exec(item.trim());
    const port = Number(m?.[3] ?? DEFAULT_PORT);
    if (!m || !Number.isInteger(port) || port < 1 || port > 65535) {
      throw new StoreOpenError(`invalid etcd endpoint "${item.trim()}": expected http://host:port or https://host:port`);
    }
    return `${m[1]}://${m[2]}:${port}`;
  });
  if (new Set(endpoints.map((e) => e.startsWith('https:'))).size > 1) {
    throw new StoreOpenError(`etcd endpoints mix http:// and https://: ${endpoints.join(',')}`);
  }
  return endpoints;
}
