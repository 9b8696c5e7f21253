// Three `skiff server` processes (own ports and data dirs) sharing one Postgres, put through the
// fault scenario: the controller manager's leader killed, another server paused and resumed, the
// killed one restarted; no acknowledged write lost, the history linearizable.
import t from 'tap';
import { startCluster } from '../helpers/cluster.js';
import { runFaultScenario } from '../helpers/fault-scenario.js';
import { startPostgres } from '../helpers/postgres.js';

t.test('three servers on one Postgres stay linearizable through a kill, a pause and a restart', async (t) => {
  const endpoint = await (await startPostgres(t)).newDatabase();
  const args = ['--datastore-endpoint', endpoint, '--token', 'ha-fault-test'];
  // The first server sets the database up; the other two join it at once.
  const first = await startCluster(t, args);
  const others = await Promise.all([startCluster(t, args), startCluster(t, args)]);
  await runFaultScenario(t, [first, ...others]);
});
