// Which container's log the logs view follows when none was chosen: kubectl's rule.
import t from 'tap';
import { defaultContainer } from '../../src/dashboard/views/logs.js';

const pod = (names: string[], annotation?: string) => ({
  metadata: { name: 'p', annotations: annotation ? { 'kubectl.kubernetes.io/default-container': annotation } : {} },
  spec: { containers: names.map((name) => ({ name })) },
});

t.test('the annotated default container, else the first', async (t) => {
  t.equal(defaultContainer(pod(['app', 'sidecar'])), 'app');
  t.equal(defaultContainer(pod(['app', 'sidecar'], 'sidecar')), 'sidecar');
  t.equal(defaultContainer(pod(['app', 'sidecar'], 'missing')), 'app', 'an annotation naming no container is ignored');
  t.equal(defaultContainer(pod([])), undefined);
});
