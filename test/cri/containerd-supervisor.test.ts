// The agent's containerd supervisor against a real containerd (Debian's package; needs root).
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { eventually } from '../helpers/eventually.js';
import { startContainerd } from '../helpers/containerd.js';

t.test('the supervisor brings containerd back when it dies', async (t) => {
  const c = await startContainerd(t, {
    registries: {
      mirrors: { 'docker.io': { endpoints: ['https://mirror.local:5000'], rewrite: {} } },
      configs: { 'mirror.local:5000': { auth: { username: 'u', password: 'p' } } },
    },
  });
  const first = c.supervisor.pid!;
  process.kill(first, 'SIGKILL');
  const back = await eventually(
    async () =>
      c.supervisor.pid !== first &&
      (await c.cri.version().then(
        () => true,
        () => false,
      )),
    { timeout: 20_000, what: 'a new containerd' },
  );
  t.ok(back, 'a new containerd answers');
  t.match(fs.readFileSync(path.join(c.dir, 'containerd.log'), 'utf8'), /containerd successfully booted/);
});
