// Running one of the system's programs in skiff's place (skiff kubectl, skiff ctr), as K3s does:
// same arguments, terminal and exit code; only the environment says which cluster or socket.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** Paths that are this very executable: install.sh links kubectl and ctr to skiff, which must not run itself. */
function selfPaths(): Set<string> {
  return new Set([process.argv[1], process.execPath].filter((p): p is string => !!p).map(realpath));
}

function realpath(p: string): string {
  try {
    return fs.realpathSync(p);
  } catch {
    return p;
  }
}

/** The first executable `name` on PATH that is not skiff itself. */
export function findProgram(name: string, pathVar = process.env.PATH ?? '', self = selfPaths()): string | undefined {
  for (const dir of pathVar.split(path.delimiter).filter(Boolean)) {
    const file = path.join(dir, name);
    try {
      fs.accessSync(file, fs.constants.X_OK);
    } catch {
      continue;
    }
    if (fs.statSync(file).isFile() && !self.has(realpath(file))) return file;
  }
  return undefined;
}

/** Runs `name` with `args` on this terminal and answers its exit code (128 + the signal's number if killed). */
export async function runProgram(name: string, args: string[], env: NodeJS.ProcessEnv, installHint: string): Promise<number> {
  const file = findProgram(name, env.PATH);
  if (!file) throw new Error(`${name} is not installed: ${installHint}`);
  const child = spawn(file, args, { stdio: 'inherit', env });
  // The terminal sends Ctrl-C to both: the program decides what it means, skiff waits for its answer.
  const ignore = () => {};
  const forward = (signal: NodeJS.Signals) => child.kill(signal);
  process.on('SIGINT', ignore).on('SIGQUIT', ignore).on('SIGTERM', forward).on('SIGHUP', forward);
  try {
    return await new Promise<number>((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', (code, signal) => resolve(code ?? 128 + (signal ? os.constants.signals[signal] : 0)));
    });
  } finally {
    process.off('SIGINT', ignore).off('SIGQUIT', ignore).off('SIGTERM', forward).off('SIGHUP', forward);
  }
}
