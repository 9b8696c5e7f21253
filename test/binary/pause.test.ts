// The built-in pause binary on both architectures (the other one under qemu-user).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { pauseBinary } from '../../src/agent/pause-image.js';
import { eventually } from '../helpers/eventually.js';
import { tempDir } from '../helpers/tmp.js';

/** The process state letter of /proc/<pid>/stat (S: asleep in a syscall; Z: exited). */
const procState = (pid: number) => fs.readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '')[0];

t.test('the built-in pause binary sleeps until killed, on both architectures', async (t) => {
  const dir = tempDir(t);
  const run = async (arch: string, runner: string[]) => {
    const file = path.join(dir, `pause-${arch}`);
    fs.writeFileSync(file, pauseBinary(arch), { mode: 0o755 });
    const child = spawn(runner[0] ?? file, runner.length ? [...runner.slice(1), file] : []);
    t.teardown(() => void child.kill('SIGKILL'));
    const exit = new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_code, signal) => resolve(signal)));
    // Asleep in the kernel: it got to its pause, where it would have returned from had it meant to.
    await eventually(() => procState(child.pid!) === 'S', {
      timeout: 20_000,
      what: `pause-${arch} asleep`,
      explain: () => `state ${procState(child.pid!)}`,
    });
    t.equal(child.exitCode, null, `${arch}: still running, asleep`);
    child.kill('SIGKILL');
    t.equal(await exit, 'SIGKILL');
  };
  await run(process.arch === 'x64' ? 'amd64' : 'arm64', []);
  // .ci/run installs qemu-user-static for the arm64 build; run the other architecture under it.
  const qemu = process.arch === 'x64' ? '/usr/bin/qemu-aarch64-static' : '/usr/bin/qemu-x86_64-static';
  await run(process.arch === 'x64' ? 'arm64' : 'amd64', [qemu]);
  t.throws(
    () => pauseBinary('riscv64'),
    /no built-in pause binary for riscv64; import a pause image for it and name it with --pause-image/,
  );
});
