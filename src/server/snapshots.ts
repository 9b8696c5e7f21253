// The server's snapshots (K3s's etcd snapshots, of the SQLite datastore here): the scheduled ones
// (--etcd-snapshot-schedule-cron, kept to --etcd-snapshot-retention), `skiff snapshot save` through
// the API server's endpoint, and --cluster-reset[-restore-path] before the datastore opens.
import fs from 'node:fs';
import path from 'node:path';
import { CronExpressionParser } from 'cron-parser';
import { Settings } from 'luxon';
import type { SavedSnapshot, SnapshotService } from '../apiserver/snapshot-routes.js';
import { ConfigError } from '../k8s/config-error.js';
import { log } from '../log.js';
import {
  canSnapshot,
  ON_DEMAND,
  pruneSnapshots,
  restoreSnapshot,
  saveSnapshot,
  SnapshotError,
  snapshotName,
  SnapshotUsageError,
  type SnapshotFile,
} from '../store/snapshot.js';
import type { Store } from '../store/index.js';

export interface SnapshotSettings {
  dir: string;
  node: string;
  /** Base name of the scheduled snapshots (etcd-snapshot). */
  name: string;
  cron: string;
  retention: number;
  disabled: boolean;
}

// cron-parser's dates are luxon's, which otherwise asks ICU for the system's locale: 15-30 ms of every
// server start. No locale plays a part in when a schedule fires.
Settings.defaultLocale = 'en-US';

/** The next time a cron expression fires after `from`; a bad expression is a ConfigError. */
export function nextRun(cron: string, from: Date): Date {
  try {
    return CronExpressionParser.parse(cron, { currentDate: from }).next().toDate();
  } catch (err) {
    throw new ConfigError(`invalid --etcd-snapshot-schedule-cron "${cron}": ${(err as Error).message}`);
  }
}

const saved = (f: SnapshotFile): SavedSnapshot => ({
  name: f.name,
  location: f.location,
  size: f.size,
  created: f.created.toISOString(),
});

/** `skiff snapshot save` on the running server. */
export function snapshotService(store: Store, s: SnapshotSettings): SnapshotService | undefined {
  if (!canSnapshot(store)) return undefined;
  return {
    async save(req) {
      const file = await saveSnapshot(store, req.dir ?? s.dir, snapshotName(req.name ?? ON_DEMAND, s.node));
      log.info(`Snapshot ${file.name} saved.`);
      return saved(file);
    },
    isBadRequest: (err) => err instanceof SnapshotUsageError || err instanceof SnapshotError,
  };
}

/** Saves and prunes on the schedule until stopped. */
export function startSnapshotSchedule(store: Store, s: SnapshotSettings): { stop(): Promise<void> } {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();
  let stopped = false;
  if (s.disabled || !canSnapshot(store)) return { stop: async () => undefined };
  const arm = () => {
    if (stopped) return;
    const due = nextRun(s.cron, new Date());
    // setTimeout takes at most 2^31-1 ms (24.8 days): a later run re-arms on the way.
    const wait = Math.min(due.getTime() - Date.now(), 2 ** 31 - 1);
    timer = setTimeout(
      () => {
        if (Date.now() + 1000 < due.getTime()) return arm();
        running = take().finally(arm);
      },
      Math.max(wait, 0),
    );
    timer.unref();
  };
  const take = async () => {
    try {
      const file = await saveSnapshot(store, s.dir, snapshotName(s.name, s.node));
      log.info(`Snapshot ${file.name} saved.`);
      for (const gone of pruneSnapshots(s.dir, `${s.name}-${s.node}`, s.retention)) log.info(`Removed local snapshot ${gone}`);
    } catch (err) {
      log.error({ err }, 'scheduled snapshot failed');
    }
  };
  arm();
  log.info({ cron: s.cron, retention: s.retention, dir: s.dir }, 'scheduled snapshots on');
  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}

/**
 * --cluster-reset and --cluster-reset-restore-path, before the datastore opens. With SQLite there is
 * no membership to reset. A restore replaces the database once: a marker remembers the snapshot, so
 * a restart that still carries the flag does not throw away what was written since.
 */
export function clusterReset(dbFile: string, reset: boolean, restorePath: string | undefined): void {
  if (restorePath !== undefined && !reset) throw new ConfigError('--cluster-reset-restore-path needs --cluster-reset (as K3s)');
  if (!reset) return;
  if (restorePath === undefined) {
    log.info('--cluster-reset: the SQLite datastore has no cluster membership to reset; nothing to do');
    return;
  }
  const snapshot = path.resolve(restorePath);
  const marker = path.join(path.dirname(dbFile), 'reset-flag');
  if (fs.existsSync(marker) && fs.readFileSync(marker, 'utf8').trim() === snapshot) {
    log.warn(
      `--cluster-reset-restore-path: the datastore was already restored from ${snapshot}; starting without restoring again ` +
        `(remove the flags, or ${marker} to restore it once more)`,
    );
    return;
  }
  try {
    const { oldDir, revision } = restoreSnapshot(dbFile, snapshot);
    fs.writeFileSync(marker, `${snapshot}\n`, { mode: 0o600 });
    log.info(
      { snapshot, old: oldDir, revision },
      `Restored the datastore from ${snapshot}${oldDir ? `; the old one is in ${oldDir}` : ''}. ` +
        'Remove --cluster-reset and --cluster-reset-restore-path before the next start',
    );
  } catch (err) {
    if (err instanceof SnapshotUsageError) throw new ConfigError(`--cluster-reset-restore-path: ${err.message}`);
    throw err;
  }
}
