// Auto-deploying manifests, as K3s's <data-dir>/server/manifests: every file there applied on
// start and on change, the objects of a removed file deleted.
import type { ApiClient } from '../client/rest-client.js';

export interface ManifestsOptions {
  /** The directory watched (<data-dir>/server/manifests). */
  dir: string;
  /** Who applies: the server's supervisor identity. */
  client: ApiClient;
  /** --disable names: a file named <name>.yaml is skipped. */
  disabled: string[];
}

export function startManifests(_opts: ManifestsOptions): { stop(): Promise<void> } {
  return { stop: async () => {} };
}
