// A throwaway MariaDB (Debian's `mariadb-server`, MySQL's wire protocol and SQL) for tests: a fresh
// data dir in a temp dir, reached over a unix socket only (no port to collide with), stopped and
// removed at teardown.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import mysql from 'mysql2/promise';
import type { Test } from 'tap';
import { openMysqlStore } from '../../src/store/mysql.js';
import type { Backend } from '../store/helpers.js';
import { startServerProcess } from './server-process.js';

export interface TestMysql {
  /** The unix socket the server listens on. */
  socket: string;
  /** The endpoint of a new, empty database on this server. */
  newDatabase(): Promise<string>;
}

// Small and unsynced: a test server holds little and need not survive a crash.
const SERVER_OPTIONS = ['--innodb-log-file-size=8M', '--innodb-buffer-pool-size=64M', '--innodb-flush-log-at-trx-commit=0'];

/** The server refuses to run as root unless told which user to become: the package's `mysql`. */
const asMysql = () => (process.getuid?.() === 0 ? ['--user=mysql'] : []);

export async function startMysql(t: Test): Promise<TestMysql> {
  if (!fs.existsSync('/usr/sbin/mariadbd')) throw new Error('MariaDB is not installed (apt-get install mariadb-server)');
  // Short path: a unix socket path must fit in 107 bytes.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skiff-my-'));
  const data = path.join(dir, 'data');
  const socket = path.join(dir, 'sock');
  if (process.getuid?.() === 0) execFileSync('chown', ['mysql:mysql', dir]);
  // Root may then log in over the socket without a password.
  const install = ['--no-defaults', `--datadir=${data}`, '--auth-root-authentication-method=normal', '--skip-test-db', ...asMysql()];
  try {
    execFileSync('mariadb-install-db', [...install, ...SERVER_OPTIONS], { stdio: 'pipe' });
  } catch (err) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const args = [
    '--no-defaults',
    `--datadir=${data}`,
    `--socket=${socket}`,
    `--pid-file=${path.join(dir, 'pid')}`,
    '--skip-networking',
    '--max-connections=500',
    '--innodb-doublewrite=0',
    ...SERVER_OPTIONS,
    ...asMysql(),
  ];
  await startServerProcess(t, { cmd: '/usr/sbin/mariadbd', args, dir, ready: /ready for connections/, stopSignal: 'SIGTERM' });

  let n = 0;
  return {
    socket,
    async newDatabase() {
      const name = `t${++n}`;
      const admin = await mysql.createConnection({ socketPath: socket, user: 'root' });
      try {
        await admin.query(`CREATE DATABASE ${name}`);
      } finally {
        await admin.end();
      }
      return `mysql://root@unix(${socket})/${name}`;
    },
  };
}

/** The store tests' backend on this server: a fresh database per store (useBackend in test/store/helpers.ts). */
export function mysqlBackend(server: TestMysql): Backend {
  return async () => {
    const endpoint = await server.newDatabase();
    return { file: '', open: (opts) => openMysqlStore({ endpoint, ...opts }) };
  };
}
