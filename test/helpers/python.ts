// Runs a Python unittest module of test/e2e/python with Debian's interpreter (which has Debian's
// python3-kubernetes; a pyenv or venv python on PATH would not) and reports each of its tests as
// an assertion of the calling tap test.
import { spawn } from 'node:child_process';
import path from 'node:path';
import type { Test } from 'tap';
import { finish, repoRoot } from './run.js';

export const PYTHON = '/usr/bin/python3';

export async function runPythonTests(t: Test, module: string, env: Record<string, string>): Promise<void> {
  const child = spawn(PYTHON, ['-W', 'ignore::ResourceWarning', '-m', 'unittest', '-v', module], {
    cwd: path.join(repoRoot, 'test/e2e/python'),
    env: { PATH: process.env.PATH, ...env },
  });
  const r = await finish(child);
  // unittest -v prints one line per test: `test_x (module.Class.test_x) ... ok|FAIL|ERROR`.
  const results = [...r.stderr.matchAll(/^(test_\w+) \(.*?\)(?: \.\.\.|\n.*?\.\.\.) (ok|FAIL|ERROR|skipped.*)$/gm)];
  const output = { stderr: r.stderr.slice(-6000) };
  t.ok(results.length > 0, `the tests of ${module}.py ran`, output);
  for (const [, name, outcome] of results) t.equal(outcome, 'ok', `python ${module}.${name}`, output);
  t.equal(r.code, 0, `python ${module} passed`, output);
}
