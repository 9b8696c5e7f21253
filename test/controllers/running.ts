// The in-process API with the controller manager running on it until the test ends, as most
// controller tests need it: the controllers stop before the harness closes its datastore (teardowns
// run in the order they were registered).
import type { Test } from 'tap';
import { ApiClient } from '../../src/client/rest-client.js';
import { inProcessTransport } from '../../src/client/transport.js';
import { type ControllerSettings, runControllers } from '../../src/controllers/manager.js';
import { admin, apiHarness, type Harness } from '../apiserver/harness.js';

/** A fresh API (`h`), an admin client on it (`api`), and the controllers with `settings` running. */
export async function withControllers(
  t: Test,
  settings: (h: Harness) => ControllerSettings = () => ({}),
): Promise<{ h: Harness; api: ApiClient }> {
  const stop = new AbortController();
  let running: Promise<void> | undefined;
  t.teardown(async () => {
    stop.abort();
    await running;
  });
  const h = await apiHarness(t);
  const api = new ApiClient(inProcessTransport(h.app, admin));
  running = runControllers(api, stop.signal, settings(h));
  return { h, api };
}
