// A server a test runs from a temp dir of its own (a database: Postgres, MariaDB): stopped with its
// shutdown signal and the dir removed at teardown, and at once if it fails to start.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import type { Test } from 'tap';
import { waitForLine } from './run.js';

export interface ServerProcess {
  cmd: string;
  args: string[];
  /** Removed once the server has stopped. */
  dir: string;
  /** The line it prints once it takes connections. */
  ready: RegExp;
  /** The signal of a clean, quick shutdown that disconnects the clients. */
  stopSignal: NodeJS.Signals;
}

export async function startServerProcess(t: Test, s: ServerProcess): Promise<void> {
  const server = spawn(s.cmd, s.args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise((resolve) => server.on('close', resolve));
  const stop = async () => {
    if (server.exitCode === null) server.kill(s.stopSignal);
    await exited;
    fs.rmSync(s.dir, { recursive: true, force: true });
  };
  t.teardown(stop);
  // A failed start rejects a top-level await, which ends the process before any teardown runs.
  await waitForLine(server, s.ready).catch(async (err: unknown) => {
    await stop();
    throw err;
  });
}
