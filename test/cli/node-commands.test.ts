// The node's tools as commands: invoked through links named after them, the system's kubectl and ctr
// found on PATH but never skiff itself, every argument passed through, and bad input refused in one line.
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { invokedAs } from '../../src/cli/node-commands.js';
import { findProgram } from '../../src/cli/tools/run-program.js';
import { runSkiff } from '../helpers/run.js';
import { tempDir } from '../helpers/tmp.js';

t.test('a link named kubectl, crictl or ctr runs that tool', async (t) => {
  t.same(invokedAs(['node', '/usr/local/bin/kubectl', 'get', 'pods']), ['kubectl', 'get', 'pods']);
  t.same(invokedAs(['node', '/usr/local/bin/crictl', 'ps', '-a']), ['crictl', 'ps', '-a']);
  t.same(invokedAs(['node', '/usr/local/bin/ctr', '--help']), ['ctr', '--help']);
  t.same(invokedAs(['node', '/usr/local/bin/skiff', 'version']), ['version']);
});

t.test("the system's program is found on PATH, skipping links to skiff", async (t) => {
  const dir = tempDir(t, 'skiff-path-');
  const [first, second] = [path.join(dir, 'a'), path.join(dir, 'b')];
  fs.mkdirSync(first);
  fs.mkdirSync(second);
  const self = path.join(dir, 'skiff');
  fs.writeFileSync(self, '#!/bin/sh\n', { mode: 0o755 });
  fs.symlinkSync(self, path.join(first, 'kubectl'));
  fs.writeFileSync(path.join(second, 'kubectl'), '#!/bin/sh\n', { mode: 0o755 });
  fs.writeFileSync(path.join(first, 'ctr'), 'not executable', { mode: 0o644 });
  const PATH = [first, second].join(path.delimiter);
  t.equal(findProgram('kubectl', PATH, new Set([self])), path.join(second, 'kubectl'));
  t.equal(findProgram('ctr', PATH, new Set([self])), undefined);
});

t.test('kubectl and ctr: arguments, exit codes and a missing program', async (t) => {
  const dir = tempDir(t, 'skiff-tools-');
  // Stand-ins that print what they were given: the arguments and the environment skiff set.
  fs.writeFileSync(path.join(dir, 'kubectl'), '#!/bin/sh\necho "kubectl $* KUBECONFIG=$KUBECONFIG"\nexit 3\n', { mode: 0o755 });
  fs.writeFileSync(path.join(dir, 'ctr'), '#!/bin/sh\necho "ctr $* $CONTAINERD_ADDRESS $CONTAINERD_NAMESPACE"\n', { mode: 0o755 });
  const env = { PATH: dir, SKIFF_CONFIG: '/dev/null', SKIFF_DATA_DIR: '/srv/skiff', SKIFF_WRITE_KUBECONFIG: '/srv/admin.yaml' };
  const k = await runSkiff(['kubectl', 'exec', 'pod', '--help', '--', 'ls', '-l'], env);
  t.equal(k.stdout, 'kubectl exec pod --help -- ls -l KUBECONFIG=/srv/admin.yaml\n');
  t.equal(k.code, 3, "kubectl's exit code");
  const own = await runSkiff(['kubectl', 'version'], { ...env, KUBECONFIG: '/mine.yaml' });
  t.match(own.stdout, 'KUBECONFIG=/mine.yaml', "the user's KUBECONFIG wins");
  const c = await runSkiff(['ctr', '-n', 'other', 'images', 'ls'], env);
  t.equal(c.stdout, `ctr -n other images ls ${path.join('/srv/skiff', 'run', 'containerd', 'containerd.sock')} k8s.io\n`);
  t.equal(c.code, 0);
  const missing = await runSkiff(['kubectl', 'get', 'nodes'], { ...env, PATH: tempDir(t, 'skiff-empty-') });
  t.equal(missing.code, 1);
  t.match(missing.stderr, /^skiff: kubectl is not installed: install it \(apt install kubernetes-client\)/);
  t.equal(missing.stderr.split('\n').length, 2, 'one line');
});

t.test('crictl: bad input is one line and exit 2', async (t) => {
  const env = { SKIFF_CONFIG: '/dev/null' };
  for (const args of [
    ['crictl', 'ps', '--state', 'sleeping'],
    ['crictl', 'ps', '-o', 'xml'],
    ['crictl', 'pods', '--name', '('],
    ['crictl', 'logs', 'abc', '--tail', 'many'],
    ['crictl', 'exec', '-it', 'abc', 'sh'],
    ['crictl', 'frobnicate'],
  ]) {
    const r = await runSkiff(args, env);
    t.equal(r.code, 2, args.join(' '));
    t.match(r.stderr, /^skiff: .+\n$/, `${args.join(' ')}: ${r.stderr}`);
  }
});
