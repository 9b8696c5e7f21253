// The official Python client (Debian's python3-kubernetes) against a skiff server: what a new user
// of it does first (watch from a list, delete right after create, create from a multi-document
// file, errors as Statuses).
import t from 'tap';
import { startCluster } from '../helpers/cluster.js';
import { runPythonTests } from '../helpers/python.js';

t.test('python3-kubernetes drives the API', async (t) => {
  const c = await startCluster(t);
  await runPythonTests(t, 'test_api', { KUBECONFIG: c.kubeconfig });
});
