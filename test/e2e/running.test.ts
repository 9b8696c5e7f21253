// Running skiff as a service: the server says where its kubeconfig is and how an agent joins it, both
// roles tell systemd they are ready (Type=notify, through systemd-notify) only once they are, and logs
// are text for people at a terminal (JSON otherwise: see cli.test.ts).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { freePort } from '../helpers/cluster.js';
import { eventually } from '../helpers/eventually.js';
import { repoRoot, spawnTs, waitForLine } from '../helpers/run.js';
import { tempDir } from '../helpers/tmp.js';

const NOTIFY_SOCKET = '/run/skiff-test/notify';

/**
 * A fake systemd-notify first on PATH: it records its arguments, the socket it was given, and what
 * $PROBE (a kubectl command) answered at that moment, to show what was ready when readiness was sent.
 */
function fakeSystemdNotify(dir: string): { path: string; record: string } {
  const bin = path.join(dir, 'bin');
  const record = path.join(dir, 'notified');
  fs.mkdirSync(bin);
  fs.writeFileSync(
    path.join(bin, 'systemd-notify'),
    // Written whole, then renamed: the test reads the record once it exists.
    `#!/bin/sh\n{ echo "args: $*"; echo "socket: $NOTIFY_SOCKET"; $PROBE 2>&1; } > ${record}.tmp\nmv ${record}.tmp ${record}\n`,
    { mode: 0o755 },
  );
  return { path: `${bin}:${process.env.PATH}`, record };
}

t.test('server and agent: the join command, readiness sent to systemd once ready, text logs', async (t) => {
  const dir = tempDir(t);
  const kubeconfig = path.join(dir, 'kubeconfig.yaml');
  const dataDir = path.join(dir, 'server');
  const notify = fakeSystemdNotify(dir);
  const kubectl = `kubectl --kubeconfig ${kubeconfig}`;
  const env = (probe: string) => ({ PATH: notify.path, HOME: dir, NOTIFY_SOCKET, PROBE: probe });

  const serverArgs = ['server', '--config', '/dev/null', '--data-dir', dataDir, '--https-listen-port', String(await freePort())];
  const server = spawnTs(
    'src/cli/main.ts',
    [...serverArgs, '--bind-address', '127.0.0.1', '--write-kubeconfig', kubeconfig, '--disable-agent', '--log-format', 'text'],
    env(`${kubectl} get namespace default -o name`),
  );
  t.teardown(() => server.kill('SIGKILL'));
  let log = '';
  server.stderr!.on('data', (d: Buffer) => (log += d));
  const joinLine = await eventually(() => log.match(/^.*To join agent node to cluster: (.*)$/m), { what: 'the join command' });
  t.match(log, `INFO: Wrote kubeconfig ${kubeconfig}\n`, 'text lines, not JSON');
  const nodeToken = path.join(dataDir, 'server/node-token');
  const command = joinLine[1]!.trim().split(' ');
  t.same(command, ['skiff', 'agent', '--server', `https://127.0.0.1:${serverArgs.at(-1)}`, '--token-file', nodeToken]);
  t.equal(fs.readFileSync(nodeToken, 'utf8'), fs.readFileSync(path.join(dataDir, 'server/token'), 'utf8'), "the server's token");
  t.equal(fs.statSync(nodeToken).mode & 0o777, 0o600);
  const serverNotified = await eventually(() => fs.existsSync(notify.record) && fs.readFileSync(notify.record, 'utf8'), {
    what: 'the server to run systemd-notify',
  });
  t.equal(serverNotified, `args: --ready\nsocket: ${NOTIFY_SOCKET}\nnamespace/default\n`, 'ready once the API answered');

  fs.rmSync(notify.record);
  // The agent joins with exactly the command the server printed (hollow: no containers here).
  const agentArgs = [
    ...command.slice(1),
    '--config',
    '/dev/null',
    '--hollow',
    '--data-dir',
    path.join(dir, 'agent'),
    '--node-name',
    'joined',
  ];
  const agent = spawnTs('src/cli/main.ts', agentArgs, env(`${kubectl} get node joined -o name`));
  t.teardown(() => agent.kill('SIGKILL'));
  const agentNotified = await eventually(() => fs.existsSync(notify.record) && fs.readFileSync(notify.record, 'utf8'), {
    what: 'the agent to run systemd-notify',
  });
  t.equal(agentNotified, `args: --ready\nsocket: ${NOTIFY_SOCKET}\nnode/joined\n`, 'ready once its node was registered');
});

t.test('logs are text when stderr is a terminal', async (t) => {
  // script(1) gives the command a terminal; an agent that cannot reach its server logs a warning and retries.
  const dir = tempDir(t);
  const agent = [process.execPath, '--import', 'tsx', path.join(repoRoot, 'src/cli/main.ts'), 'agent', '--config', '/dev/null']
    .concat(['--hollow', '--data-dir', path.join(dir, 'data'), '--server', `https://127.0.0.1:${await freePort()}`, '--token', 'x'])
    .join(' ');
  const child = spawn('script', ['-qec', agent, '/dev/null'], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
  // The agent goes with its terminal: script(1) hangs it up when it ends.
  t.teardown(() => child.kill('SIGTERM'));
  t.match(await waitForLine(child, /cannot join/), /WARN.*cannot join: /);
});
