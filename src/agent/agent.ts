// `skiff agent`: a node that joins a server. Joining and running pods arrive with the agent issue;
// until then the command checks its settings and says plainly that it cannot join yet.
import type { Settings } from '../cli/config.js';
import { UsageError } from '../cli/values.js';

export async function runAgent(settings: Settings): Promise<void> {
  if (settings.server === undefined) throw new UsageError('skiff agent needs --server (or SKIFF_SERVER)');
  if (settings.token === undefined) throw new UsageError('skiff agent needs --token (or SKIFF_TOKEN)');
  throw new UsageError(`this skiff build cannot join ${String(settings.server)} yet: the agent is not implemented`);
}
