// The in-process API with the controller manager running on it until the test ends, as most
// controller tests need it: the controllers stop before the harness closes its datastore (teardowns
// run in the order they were registered).
import type { Test } from 'tap';
import { ApiClient } from '../../src/client/rest-client.js';
import { inProcessTransport } from '../../src/client/transport.js';
import { EventRecorder } from '../../src/client/event-recorder.js';
import { SharedInformers } from '../../src/client/shared-informers.js';
import { type ControllerSettings, runControllers } from '../../src/controllers/manager.js';
import type { ControllerContext } from '../../src/controllers/runner.js';
import { ManualClock } from '../helpers/manual-clock.js';
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

/**
 * One controller, made by `make` from a context on a fresh API, running on a ManualClock of its own
 * (informers synced first) until the test ends; answers the admin client, the clock and the informers.
 */
export async function withClockedController(
  t: Test,
  make: (context: ControllerContext, clock: ManualClock) => { run(signal: AbortSignal): Promise<void> },
): Promise<{ api: ApiClient; clock: ManualClock; informers: SharedInformers }> {
  // Registered before the harness so it runs first: stop the loops, then close the datastore.
  const stop = new AbortController();
  let informers: SharedInformers | undefined;
  t.teardown(() => {
    stop.abort();
    informers?.stop();
  });
  const h = await apiHarness(t);
  const api = new ApiClient(inProcessTransport(h.app, admin));
  const clock = new ManualClock(Date.now());
  informers = new SharedInformers(api);
  const controller = make({ api, informers, recorder: (c) => new EventRecorder(api, c), client: (name) => api.as(name) }, clock);
  informers.start();
  await informers.synced();
  void controller.run(stop.signal);
  return { api, clock, informers };
}
