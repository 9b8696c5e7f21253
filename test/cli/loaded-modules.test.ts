// What a command loads, seen by a module loader hook: `skiff version` must start without the CRI
// client (gRPC and its protobuf definitions), which only a node needs.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import t, { type Test } from 'tap';
import { finish, repoRoot } from '../helpers/run.js';
import { tempDir } from '../helpers/tmp.js';

async function loadedModules(t: Test, args: string[]): Promise<string[]> {
  const file = path.join(tempDir(t), 'modules');
  fs.writeFileSync(file, '');
  const hooks = path.join(repoRoot, 'test/cli/record-modules.mjs');
  await finish(
    spawn(process.execPath, ['--import', 'tsx', '--import', hooks, path.join(repoRoot, 'src/cli/main.ts'), ...args], {
      cwd: repoRoot,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, RECORD_MODULES_TO: file },
    }),
  );
  return fs.readFileSync(file, 'utf8').split('\n').filter(Boolean);
}

const criClient = (modules: string[]) => modules.filter((url) => url.includes('/src/cri/') || url.includes('/@grpc/'));

t.test('skiff version loads no CRI client', async (t) => {
  const modules = await loadedModules(t, ['version']);
  t.ok(
    modules.some((url) => url.endsWith('/src/cli/main.ts')),
    'the hook sees the program load',
  );
  t.same(criClient(modules), []);
});

t.test('the hook does see the CRI client when a command loads it', async (t) => {
  // skiff agent loads the agent before it checks its settings, and the agent runs containerd.
  const modules = await loadedModules(t, ['agent', '--config', '/dev/null']);
  t.ok(criClient(modules).some((url) => url.endsWith('/src/cri/client.ts')));
});
