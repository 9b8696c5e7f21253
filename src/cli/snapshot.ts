// `skiff snapshot save|ls|delete|prune|restore` (also `skiff etcd-snapshot`, K3s's name) for the
// SQLite datastore and embedded etcd. Snapshots are files in <data-dir>/server/db/snapshots (--dir, --etcd-snapshot-dir,
// or the server's --etcd-snapshot-dir from its config file). `save` copies a stopped server's file
// itself; a running server holds the file locked, so then it asks that server (POST
// /v1-skiff/snapshots, with the admin certificate under <data-dir>/server/tls, as secrets-encrypt
// does) to copy it online. ls, delete and prune work on the folder; restore replaces the datastore
// of a stopped server (as `skiff server --cluster-reset --cluster-reset-restore-path`).
import fs from 'node:fs';
import path from 'node:path';
import { type Command as Program, Option } from 'commander';
import { resolveSettings, type Settings } from './config.js';
import { retention } from './role-config.js';
import { UsageError } from './values.js';
import { askServer, refusal, serverAdmin } from './server-admin.js';
import { etcdDataDir } from '../server/db-paths.js';

const SNAPSHOTS_PATH = '/v1-skiff/snapshots';

interface CommonOptions {
  dataDir?: string;
  server?: string;
  config?: string;
  dir?: string;
  etcdSnapshotDir?: string;
}

interface Where {
  settings: Settings;
  dataDir: string;
  dbFile: string;
  dir: string;
}

/** A server on embedded etcd: only its running server takes snapshots, and a restore is a --cluster-reset. */
const onEtcd = (w: Where) => fs.existsSync(etcdDataDir(w.dataDir));

function where(opts: CommonOptions): Where {
  const cli: Record<string, unknown> = {};
  if (opts.dataDir !== undefined) cli['data-dir'] = opts.dataDir;
  if (opts.config !== undefined) cli.config = opts.config;
  const settings = resolveSettings('server', cli);
  const dataDir = settings['data-dir'] as string;
  const dir =
    opts.dir ??
    opts.etcdSnapshotDir ??
    (settings['etcd-snapshot-dir'] as string | undefined) ??
    path.join(dataDir, 'server', 'db', 'snapshots');
  return { settings, dataDir, dbFile: path.join(dataDir, 'server', 'db', 'state.db'), dir: path.resolve(dir) };
}

/** Has the running server copy its datastore online (it holds the file locked). */
async function saveOnServer(w: Where, opts: CommonOptions, body: { name: string; dir: string }): Promise<string> {
  const admin = serverAdmin(w.settings, opts.server);
  const answer = await askServer(admin, 'POST', SNAPSHOTS_PATH, body, 600_000).catch((err: Error) => {
    throw new Error(`the datastore is in use, but the server at ${admin.url.origin} cannot be reached: ${err.message}`);
  });
  if (answer.status === 200 && typeof answer.json?.name === 'string') return answer.json.name;
  if (answer.status === 400) throw new UsageError(answer.json?.message ?? answer.text.trim());
  throw refusal(answer);
}

/** The store's snapshot functions, loaded when a command runs (`skiff version` needs no SQLite). */
async function store() {
  return import('../store/snapshot.js');
}

/** Runs an action with the store's usage errors turned into the CLI's (exit 2). */
function action<A extends unknown[]>(fn: (...args: A) => Promise<void>): (...args: A) => Promise<void> {
  return async (...args) => {
    const { SnapshotUsageError } = await store();
    try {
      await fn(...args);
    } catch (err) {
      if (err instanceof SnapshotUsageError) throw new UsageError(err.message);
      throw err;
    }
  };
}

const common = (cmd: Program) =>
  cmd
    .addOption(new Option('-d, --data-dir <dir>', "folder of the server's state (default as for skiff server)"))
    .addOption(new Option('--config <file>', "the server's config file (default /etc/skiff/config.yaml)"))
    .addOption(new Option('--dir <dir>', 'folder of the snapshots (default: <data-dir>/server/db/snapshots)'))
    .addOption(new Option('--etcd-snapshot-dir <dir>', 'the same as --dir (K3s accepts both)').hideHelp());

export function snapshotCommand(program: Program): void {
  const group = program
    .command('snapshot')
    .alias('etcd-snapshot')
    .description("save, list, delete, prune and restore snapshots of the server's datastore (K3s's etcd-snapshot)");

  common(group.command('save').description('take a snapshot now (online: the running server goes on writing)'))
    .addOption(new Option('--name <name>', 'base name of the snapshot, <name>-<node>-<unix time>').default('on-demand'))
    .addOption(new Option('-s, --server <url>', 'the running server (default https://127.0.0.1:<https-listen-port>)'))
    .action(
      action(async (opts: CommonOptions & { name: string }) => {
        const { checkName, saveSnapshotOfFile, snapshotName } = await store();
        const w = where(opts);
        checkName(opts.name);
        const name = snapshotName(opts.name, w.settings['node-name'] as string);
        const file = onEtcd(w) ? undefined : await saveSnapshotOfFile(w.dbFile, w.dir, name);
        const saved = file?.name ?? (await saveOnServer(w, opts, { name: opts.name, dir: w.dir }));
        process.stdout.write(`Snapshot ${saved} saved.\n`);
      }),
    );

  common(group.command('ls').aliases(['list', 'l']).description('list the snapshots: name, location, size, creation time'))
    .addOption(new Option('-o, --output <format>', 'table or json').choices(['table', 'json']).default('table'))
    .action(
      action(async (opts: CommonOptions & { output: string }) => {
        const { listSnapshots, snapshotTable } = await store();
        const files = listSnapshots(where(opts).dir);
        if (opts.output === 'json') {
          const items = files.map((f) => ({ name: f.name, location: f.location, size: f.size, created: f.created.toISOString() }));
          process.stdout.write(`${JSON.stringify(items, null, 2)}\n`);
        } else process.stdout.write(snapshotTable(files));
      }),
    );

  common(
    group.command('delete').description('delete the named snapshots').argument('<name...>', 'snapshot names, as ls prints them'),
  ).action(
    action(async (names: string[], opts: CommonOptions) => {
      const { deleteSnapshots } = await store();
      for (const file of deleteSnapshots(where(opts).dir, names)) process.stdout.write(`Removing local snapshot ${file}\n`);
    }),
  );

  common(group.command('prune').description('keep the newest snapshots of a name, delete the older ones'))
    .addOption(new Option('--name <name>', 'base name of the snapshots to prune').default('on-demand'))
    .addOption(new Option('--snapshot-retention <n>', 'how many to keep').default('5'))
    .addOption(new Option('--etcd-snapshot-retention <n>', 'the same as --snapshot-retention').hideHelp())
    .action(
      action(async (opts: CommonOptions & { name: string; snapshotRetention: string; etcdSnapshotRetention?: string }) => {
        const { pruneSnapshots } = await store();
        const keep = retention(opts.etcdSnapshotRetention ?? opts.snapshotRetention, 'snapshot-retention');
        for (const file of pruneSnapshots(where(opts).dir, opts.name, keep)) process.stdout.write(`Removing local snapshot ${file}\n`);
      }),
    );

  common(
    group
      .command('restore')
      .description('replace the datastore of the stopped server with a snapshot (the old one is kept aside)')
      .argument('<snapshot>', 'a snapshot name as ls prints it, or a path'),
  ).action(
    action(async (snapshot: string, opts: CommonOptions) => {
      const { restoreSnapshot } = await store();
      const w = where(opts);
      if (onEtcd(w))
        throw new UsageError(
          'this server runs embedded etcd: restore with skiff server --cluster-reset --cluster-reset-restore-path=<snapshot>',
        );
      const file =
        !snapshot.includes('/') && fs.existsSync(path.join(w.dir, snapshot)) ? path.join(w.dir, snapshot) : path.resolve(snapshot);
      const { oldDir } = restoreSnapshot(w.dbFile, file);
      process.stdout.write(`Restored the datastore from ${file}${oldDir ? `; the old one is in ${oldDir}` : ''}. Start skiff server.\n`);
    }),
  );
}
