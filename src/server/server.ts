// Composition root of `skiff server`: opens the datastore and keeps running until told to stop.
import path from 'node:path';
import type { Settings } from '../cli/config.js';
import { openSqliteStore } from '../store/index.js';
import { log } from '../log.js';

export async function runServer(settings: Settings): Promise<void> {
  const dataDir = settings['data-dir'] as string;
  const dbFile = path.join(dataDir, 'server', 'db', 'state.db');
  const store = await openSqliteStore({ file: dbFile });
  log.info({ dbFile, revision: store.currentRevision() }, 'skiff server ready');

  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      log.info({ signal }, 'skiff server stopping');
      resolve();
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
  await store.close();
}
