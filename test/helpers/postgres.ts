// A throwaway Postgres (Debian's `postgresql` package) for tests: a fresh cluster in a temp dir,
// reached over a unix socket only (no port to collide with), stopped and removed at teardown.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Test } from 'tap';
import pg from 'pg';
import { startServerProcess } from './server-process.js';

export interface TestPostgres {
  /** The endpoint of a new, empty database in this cluster. */
  newDatabase(): Promise<string>;
}

function binDir(): string {
  const root = '/usr/lib/postgresql';
  const versions = fs.existsSync(root) ? fs.readdirSync(root).sort((a, b) => Number(b) - Number(a)) : [];
  const found = versions.map((v) => path.join(root, v, 'bin')).find((d) => fs.existsSync(path.join(d, 'postgres')));
  if (!found) throw new Error('Postgres is not installed (apt-get install postgresql)');
  return found;
}

/** Postgres refuses to run as root: then it runs as the package's `postgres` user. */
function asPostgres(cmd: string, args: string[]): [string, string[]] {
  if (process.getuid?.() !== 0) return [cmd, args];
  return ['setpriv', ['--reuid=postgres', '--regid=postgres', '--init-groups', cmd, ...args]];
}

export async function startPostgres(t: Test): Promise<TestPostgres> {
  const bin = binDir();
  // Short path: a unix socket path must fit in 107 bytes.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skiff-pg-'));
  const data = path.join(dir, 'data');
  if (process.getuid?.() === 0) execFileSync('chown', ['postgres:postgres', dir]);
  const init = asPostgres(path.join(bin, 'initdb'), ['-D', data, '-U', 'skiff', '--auth=trust', '-E', 'UTF8', '--locale=C']);
  execFileSync(init[0], init[1], { stdio: 'pipe' });
  const [cmd, args] = asPostgres(path.join(bin, 'postgres'), [
    '-D',
    data,
    '-k',
    dir,
    '-c',
    'listen_addresses=',
    '-c',
    'fsync=off',
    '-c',
    'max_connections=200',
  ]);
  // SIGINT is Postgres's fast shutdown.
  await startServerProcess(t, { cmd, args, dir, ready: /ready to accept connections/, stopSignal: 'SIGINT' });

  const endpoint = (db: string) => `postgres://skiff@localhost/${db}?host=${encodeURIComponent(dir)}`;
  let n = 0;
  return {
    async newDatabase() {
      const name = `t${++n}`;
      const admin = new pg.Client({ connectionString: endpoint('postgres') });
      await admin.connect();
      try {
        await admin.query(`CREATE DATABASE ${name}`);
      } finally {
        await admin.end();
      }
      return endpoint(name);
    },
  };
}
