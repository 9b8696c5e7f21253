// Where a server keeps its datastore under <data-dir>/server/db, for the commands that look at it
// without loading a datastore's client (snapshot, certificate).
import path from 'node:path';

/** The SQLite datastore of a server alone. */
export const sqliteFile = (dataDir: string): string => path.join(dataDir, 'server', 'db', 'state.db');

/** The embedded etcd member's data. */
export const etcdDataDir = (dataDir: string): string => path.join(dataDir, 'server', 'db', 'etcd');
