import t from 'tap';
import { parseNodeLabels, parseNodeTaints } from '../../src/agent/node-registration.js';

t.test('--node-label and --node-taint', async (t) => {
  t.same(parseNodeLabels(['zone=lab', 'example.com/tier=', 'a.b/c=d']), { zone: 'lab', 'example.com/tier': '', 'a.b/c': 'd' });
  t.throws(() => parseNodeLabels(['novalue']), /^invalid --node-label "novalue": expected key=value/);
  t.throws(() => parseNodeLabels(['bad key=x']), /invalid --node-label "bad key=x"/);
  t.same(parseNodeTaints(['dedicated=gpu:NoSchedule', 'edge:PreferNoSchedule']), [
    { key: 'dedicated', value: 'gpu', effect: 'NoSchedule' },
    { key: 'edge', effect: 'PreferNoSchedule' },
  ]);
  t.throws(
    () => parseNodeTaints(['dedicated=gpu']),
    /^invalid --node-taint "dedicated=gpu": expected key\[=value\]:Effect with Effect one of NoSchedule, PreferNoSchedule, NoExecute$/,
  );
  t.throws(() => parseNodeTaints(['dedicated=gpu:Sometimes']), /invalid --node-taint/);
});
