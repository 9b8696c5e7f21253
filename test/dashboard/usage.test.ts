// Capacity and usage on the nodes page, as kubectl top prints them.
import t from 'tap';
import { formatBytes, formatCpu, withShare } from '../../src/dashboard/usage.js';

t.test('CPU and memory quantities for people', async (t) => {
  t.equal(formatCpu('2017519882n'), '2.02');
  t.equal(formatCpu('250m'), '250m');
  t.equal(formatCpu('4'), '4');
  t.equal(formatBytes('24683656Ki'), '23.5Gi');
  t.equal(formatBytes('2125084Ki'), '2Gi');
  t.equal(formatBytes('512Mi'), '512Mi');
  t.equal(formatBytes('100'), '100');
  t.equal(withShare('500m', '2', formatCpu), '500m (25%)');
  t.equal(withShare('1Gi', '4Gi', formatBytes), '1Gi (25%)');
  t.equal(withShare('1Gi', undefined, formatBytes), '1Gi', 'no capacity, no share');
});
