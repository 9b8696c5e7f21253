// `kubectl logs -f` through the API server against a real node whose container's log is rotated
// several times while it is followed: the follower sees every line once, in order, to the end.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { startCluster } from '../helpers/cluster.js';
import { eventually } from '../helpers/eventually.js';
import { BUSYBOX } from '../helpers/node-env.js';

const ROTATED = /^0\.log\.\d{8}-\d{6}$/;

t.test('kubectl logs -f follows a container log across rotations', async (t) => {
  // Small files and room to keep them all, so that every rotation can be counted.
  const c = await startCluster(t, ['--kubelet-arg', 'container-log-max-size=16Ki', '--kubelet-arg', 'container-log-max-files=10'], {
    agent: true,
  });
  // Numbered lines, ten at a time, until the test asks the container to stop.
  const script =
    'i=0; while [ ! -e /tmp/stop ]; do ' +
    'for j in 0 1 2 3 4 5 6 7 8 9; do i=$((i+1)); echo "line $i of a container whose log rotates"; done; ' +
    'sleep 0.05; done';
  await c.k('run', 'counter', `--image=${BUSYBOX}`, '--restart=Never', '--', 'sh', '-c', script);
  t.teardown(() => c.kubectl(['delete', 'pod', 'counter', '--ignore-not-found', '--grace-period=1']));
  const pod = await eventually(
    async () => {
      const p = JSON.parse(await c.k('get', 'pod', 'counter', '-o', 'json'));
      return p.status?.phase === 'Running' ? p : undefined;
    },
    { what: 'the pod to run', explain: async () => (await c.kubectl(['describe', 'pod', 'counter'])).stdout },
  );
  const dir = path.join(c.dataDir, 'agent', 'logs', `default_counter_${pod.metadata.uid}`, 'counter');
  const rotated = () => fs.readdirSync(dir).filter((f) => ROTATED.test(f));

  const follower = spawn('kubectl', ['--kubeconfig', c.kubeconfig, 'logs', '-f', 'counter'], {
    env: { PATH: process.env.PATH, HOME: path.dirname(c.kubeconfig) },
  });
  t.teardown(() => follower.kill());
  let out = '';
  let err = '';
  follower.stdout.on('data', (d: Buffer) => (out += d.toString()));
  follower.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((r) => follower.once('close', (code) => r(code)));

  // Once the first lines arrived, the node holds the file open: rotations from now on are followed.
  await eventually(() => out.includes('\n'), { timeout: 30_000, what: `kubectl logs -f to print (stderr: ${err})` });
  const before = new Set(rotated());
  const during = () => rotated().filter((f) => !before.has(f));
  const rotations = await eventually(() => (during().length >= 3 ? during() : undefined), {
    timeout: 120_000,
    what: 'three rotations of the followed log',
  });
  t.pass(`the log was rotated three times while followed (${rotations.join(', ')}; ${before.size} before)`);

  await c.k('exec', 'counter', '--', 'touch', '/tmp/stop');
  t.equal(await exited, 0, `kubectl logs -f ends when the container does ${err}`);

  const lines = out.split('\n');
  t.equal(lines.pop(), '', 'the output ends with a whole line');
  const numbers = lines.map((l) => Number(/^line (\d+) of a container whose log rotates$/.exec(l)?.[1] ?? NaN));
  const first = numbers[0]!;
  const gaps = numbers.filter((n, i) => n !== first + i);
  t.same(gaps.slice(0, 5), [], `lines ${first} to ${first + numbers.length - 1}, each once and in order`);
  // The container's last line, as it is on the node's disk (in the newest file that has any).
  const newest = ['0.log', ...rotated().sort().reverse()].map((f) => fs.readFileSync(path.join(dir, f), 'utf8').trimEnd()).find(Boolean)!;
  const last = newest.split('\n').pop()!;
  t.equal(
    `line ${numbers.at(-1)} of a container whose log rotates`,
    last.replace(/^\S+ stdout F /, ''),
    "up to the container's very last line",
  );
  t.comment(`followed ${numbers.length} lines across ${during().length} rotations (${before.size} before the follower started)`);

  await c.k('delete', 'pod', 'counter', '--grace-period=1');
});
