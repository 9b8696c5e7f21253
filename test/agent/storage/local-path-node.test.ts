// What a node removes when the provisioner asks: only directories named as local-path names them.
import t from 'tap';
import { requestedRemovals } from '../../../src/agent/storage/local-path-node.js';

t.test('requested removals', async (t) => {
  const asked = requestedRemovals({
    'local-path.skiff.io/path': '/var/lib/skiff/storage',
    'local-path.skiff.io/remove-pvc-1': 'pvc-0a1b-2c_default_data',
    'local-path.skiff.io/remove-pvc-2': '../../etc',
    'other.example.com/x': 'y',
  });
  t.same(asked, [
    { key: 'local-path.skiff.io/remove-pvc-1', dir: 'pvc-0a1b-2c_default_data' },
    { key: 'local-path.skiff.io/remove-pvc-2' },
  ]);
  t.same(requestedRemovals(undefined), []);
});
