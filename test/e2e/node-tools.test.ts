// The node's tools against a real node: the built `skiff` (dist/skiff.js) runs crictl on the node's
// containerd, ctr with its socket, kubectl with the admin kubeconfig, all found through the same
// config file the server reads; and check-config on this machine.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { startCluster } from '../helpers/cluster.js';
import { BUSYBOX } from '../helpers/node-env.js';
import { podWhen } from '../helpers/pods.js';
import { repoRoot } from '../helpers/run.js';
import { tempDir } from '../helpers/tmp.js';
import { eventually } from '../helpers/eventually.js';

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

/** `node dist/skiff.js ...` with `env` added to a small environment. */
function skiff(args: string[], env: Record<string, string>, argv0 = path.join(repoRoot, 'dist/skiff.js')): Promise<Result> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [argv0, ...args],
      { env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env }, timeout: 60_000, maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

t.test('skiff crictl, ctr and kubectl on a running node', async (t) => {
  const c = await startCluster(t, [], { agent: true });
  // What a node's /etc/skiff/config.yaml would say.
  const config = path.join(tempDir(t, 'skiff-tools-'), 'config.yaml');
  fs.writeFileSync(config, `data-dir: ${c.dataDir}\nwrite-kubeconfig: ${c.kubeconfig}\n`);
  const env = { SKIFF_CONFIG: config };
  const run = async (...args: string[]) => {
    const r = await skiff(args, env);
    if (r.code !== 0) throw new Error(`skiff ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
    return r.stdout;
  };

  await c.kubectl(['apply', '-f', '-'], {
    input: `apiVersion: v1
kind: Pod
metadata: {name: tools}
spec:
  containers:
  - name: main
    image: ${BUSYBOX}
    imagePullPolicy: Never
    command: [sh, -c, 'echo hello from tools; echo second line; exec sleep 3600']
`,
  });
  t.teardown(async () => {
    // The pod goes through the API before the node stops: nothing is left in containerd.
    await c.k('delete', 'pod', 'tools', '--grace-period=0', '--wait=true');
  });
  await podWhen(c, 'tools', (p) => p.status?.containerStatuses?.[0]?.state?.running);

  const kubectl = await run('kubectl', 'get', 'nodes', '-o', 'name');
  t.match(kubectl, /^node\/\S+\n$/, 'skiff kubectl uses the admin kubeconfig of the config file');
  const bad = await skiff(['kubectl', 'get', 'nosuchkind'], env);
  t.not(bad.code, 0, "kubectl's failure is skiff's exit code");
  t.match(bad.stderr, /nosuchkind/);

  const ps = await run('crictl', 'ps');
  t.match(ps, /^CONTAINER +IMAGE +CREATED +STATE +NAME +ATTEMPT +POD ID +POD +NAMESPACE\n/);
  const row = ps.split('\n').find((l) => / main /.test(l));
  t.match(row, /^[0-9a-f]{13} +\S+ +.* ago +Running +main +0 +[0-9a-f]{13} +tools +default$/);
  const id = (await run('crictl', 'ps', '-q', '--name', '^main$')).trim();
  t.match(id, /^[0-9a-f]{64}$/, 'ps -q --name: the whole ID');
  t.equal(await run('crictl', 'ps', '-a', '--name', '^nothing$', '-q'), '');
  const asJson = JSON.parse(await run('crictl', 'ps', '-o', 'json'));
  t.ok(asJson.containers.some((x: any) => x.id === id && x.state === 'CONTAINER_RUNNING'));

  const pods = await run('crictl', 'pods', '--namespace', '^default$', '--name', 'tools');
  t.match(
    pods,
    /^POD ID +CREATED +STATE +NAME +NAMESPACE +ATTEMPT +RUNTIME\n[0-9a-f]{13} +.* ago +Ready +tools +default +0 +\(default\)\n$/,
  );
  const podId = (await run('crictl', 'pods', '-q', '--name', '^tools$')).trim();
  t.match(await run('crictl', 'ps', '--pod', podId), / main /, 'ps --pod');

  const images = await run('crictl', 'images');
  t.match(images, /^IMAGE +TAG +IMAGE ID +SIZE\n/);
  t.match(images, /\nskiff\.local\/busybox +1 +[0-9a-f]{13} +[\d.]+[kM]B\n/);
  t.match(await run('crictl', 'images', '-q'), /^sha256:[0-9a-f]{64}\n/m);

  const inspect = JSON.parse(await run('crictl', 'inspect', id));
  t.match(inspect, { status: { id, state: 'CONTAINER_RUNNING', metadata: { name: 'main' } }, info: { pid: Number } });
  const inspectp = JSON.parse(await run('crictl', 'inspectp', podId));
  t.match(inspectp, { status: { id: podId, state: 'SANDBOX_READY', metadata: { name: 'tools', namespace: 'default' } } });

  t.equal(await run('crictl', 'logs', id), 'hello from tools\nsecond line\n');
  t.equal(await run('crictl', 'logs', '--tail', '1', id), 'second line\n');
  t.match(await run('crictl', 'logs', '-t', id), /^\d{4}-\d\d-\d\dT\S+ hello from tools\n/);

  t.equal(await run('crictl', 'exec', id, 'echo', 'from', 'exec'), 'from exec\n');
  const failing = await skiff(['crictl', 'exec', id, 'sh', '-c', 'echo oops >&2; exit 7'], env);
  t.same([failing.code, failing.stderr], [7, 'oops\n'], "the command's exit code and stderr");

  const stats = await eventually(async () => {
    const out = await run('crictl', 'stats');
    return / main /.test(out) ? out : undefined;
  });
  t.match(stats, /^CONTAINER +NAME +CPU % +MEM +DISK +INODES +SWAP\n[0-9a-f]{13} +main +\d+\.\d\d +[\d.]+[kMG]?B /);

  const ctr = await run('ctr', 'containers', 'list');
  t.match(ctr, new RegExp(`^CONTAINER +IMAGE +RUNTIME[^]*\\n${id} +`), 'skiff ctr: the node socket, namespace k8s.io');

  // Installed as links named after the tools, skiff is that tool.
  const links = tempDir(t, 'skiff-links-');
  fs.symlinkSync(path.join(repoRoot, 'dist/skiff.js'), path.join(links, 'crictl'));
  const linked = await skiff(['pods', '-q', '--name', '^tools$'], env, path.join(links, 'crictl'));
  t.equal(linked.stdout.trim(), podId, 'crictl, a link to skiff');
});

t.test('skiff check-config on this machine', async (t) => {
  const dataDir = tempDir(t, 'skiff-check-');
  const r = await skiff(['check-config', '--data-dir', dataDir], { SKIFF_CONFIG: '/dev/null' });
  t.equal(r.code, 0, `nothing required is missing here: ${r.stdout}`);
  t.notOk(r.stdout.includes('\x1b['), 'no colors off a terminal');
  for (const section of ['Kernel modules', 'Sysctls', 'Cgroups', 'Programs', 'CNI plugins', 'Ports', 'Data dir'])
    t.match(r.stdout, new RegExp(`^${section}:$`, 'm'));
  for (const name of ['overlay', 'br_netfilter', 'memory', 'containerd', 'runc', 'nft', 'bridge', 'host-local', 'loopback', 'portmap'])
    t.match(r.stdout, new RegExp(`\\n- ${name}: ok \\(`), `${name} is found`);
  t.match(r.stdout, new RegExp(`\\n- ${dataDir}: ok \\(\\S+, \\d+\\.\\d GB free\\)\\n`));
  t.match(r.stdout, /\nEverything Skiff needs is here( \(\d+ warnings?\))?\n$/);
  for (const line of r.stdout.split('\n').filter((l) => l.startsWith('- '))) t.match(line, /^- \S+: (ok \(.+\)|warning: .+|missing: .+)$/);
});
