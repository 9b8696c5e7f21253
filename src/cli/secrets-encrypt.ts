// `skiff secrets-encrypt status|enable|disable|prepare|rotate|reencrypt|rotate-keys`, as K3s's: it
// asks the running server (PUT /v1-skiff/encrypt/config, GET /v1-skiff/encrypt/status) and prints
// K3s's lines. It authenticates with the admin client certificate under <data-dir>/server/tls (K3s
// uses the server token from the data dir; both are root's files on the server): the server's own
// config file and SKIFF_* variables give the data dir and port, as for `skiff server`.
import { type Command as Program, Option } from 'commander';
import { resolveSettings } from './config.js';
import { askServer, refusal, serverAdmin } from './server-admin.js';

export const STATUS_PATH = '/v1-skiff/encrypt/status';
export const CONFIG_PATH = '/v1-skiff/encrypt/config';

interface CommonOptions {
  dataDir?: string;
  server?: string;
  config?: string;
}

/** Asks the running server; its refusal or silence is an error with its words. */
async function call(opts: CommonOptions, method: string, urlPath: string, body?: unknown): Promise<unknown> {
  const cli: Record<string, unknown> = {};
  if (opts.dataDir !== undefined) cli['data-dir'] = opts.dataDir;
  if (opts.config !== undefined) cli.config = opts.config;
  const admin = serverAdmin(resolveSettings('server', cli), opts.server);
  const answer = await askServer(admin, method, urlPath, body, 120_000).catch((err: Error) => {
    throw new Error(`cannot reach the server at ${admin.url.origin}: ${err.message}`);
  });
  if (answer.status !== 200) throw refusal(answer);
  return answer.json;
}

interface State {
  stage: string;
  activekey: string;
  enable?: boolean;
  hashmatch?: boolean;
  hasherror?: string;
  inactivekeys?: string[];
}

/** Columns separated as Go's tabwriter with padding 2 lays them out (K3s prints the table that way). */
function columns(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)) + 2);
  return rows.map((r) => r.map((cell, i) => (i < r.length - 1 ? cell.padEnd(widths[i]!) : cell)).join('')).join('\n');
}

/** K3s's status text. */
export function statusText(s: State): string {
  if (s.enable === undefined) return 'Encryption Status: Disabled, no configuration file found\n';
  const lines = [
    `Encryption Status: ${s.enable ? 'Enabled' : 'Disabled'}`,
    `Current Rotation Stage: ${s.stage}`,
    `Server Encryption Hashes: ${s.hashmatch ? 'All hashes match' : s.hasherror}`,
    '',
  ];
  // "AES-CBC aescbckey": the key type, then the name.
  const split = (k: string) => [k.slice(0, k.indexOf(' ')), k.slice(k.indexOf(' ') + 1)];
  const rows = [
    ['Active', 'Key Type', 'Name'],
    ['------', '--------', '----'],
    ...(s.activekey ? [[' *', ...split(s.activekey)]] : []),
    ...(s.inactivekeys ?? []).map((k) => ['', ...split(k)]),
  ];
  return `${lines.join('\n')}\n${columns(rows)}\n\n`;
}

const common = (cmd: Program) =>
  cmd
    .addOption(new Option('-d, --data-dir <dir>', "folder of the server's state (default as for skiff server)"))
    .addOption(new Option('-s, --server <url>', 'the server (default https://127.0.0.1:<https-listen-port>)'))
    .addOption(new Option('--config <file>', "the server's config file (default /etc/skiff/config.yaml)"));

export function secretsEncryptCommand(program: Program): void {
  const group = program.command('secrets-encrypt').description('control encryption of Secrets at rest on the running server (as K3s)');
  common(group.command('status').description('print whether encryption is on, the rotation stage and the keys'))
    .addOption(new Option('-o, --output <format>', 'text or json').choices(['text', 'json']).default('text'))
    .action(async (opts: CommonOptions & { output: string }) => {
      const state = (await call(opts, 'GET', STATUS_PATH)) as State;
      process.stdout.write(opts.output === 'json' ? `${JSON.stringify(state, null, '\t')}\n` : statusText(state));
    });
  const put = (name: string, summary: string, body: (o: { force?: boolean; skip?: boolean }) => unknown, flags: ('force' | 'skip')[]) => {
    const cmd = common(group.command(name).description(summary));
    if (flags.includes('force')) cmd.addOption(new Option('-f, --force', 'go on whatever the current stage'));
    if (flags.includes('skip')) cmd.addOption(new Option('--skip', 'keep the keys that are no longer used'));
    cmd.action(async (opts: CommonOptions & { force?: boolean; skip?: boolean }) => {
      const answer = (await call(opts, 'PUT', CONFIG_PATH, body(opts))) as { message?: string } | undefined;
      process.stdout.write(`${answer?.message ?? 'done'}\n`);
    });
  };
  put('enable', 'encrypt Secrets (with the keys the config has) and rewrite them', () => ({ enable: true }), []);
  put('disable', 'store Secrets as plaintext again (the keys are kept) and rewrite them', () => ({ enable: false }), []);
  put('prepare', 'add a new key, not used yet', (o) => ({ stage: 'prepare', force: !!o.force }), ['force']);
  put('rotate', 'make the newest key the one that encrypts', (o) => ({ stage: 'rotate', force: !!o.force }), ['force']);
  put(
    'reencrypt',
    'rewrite every Secret with the current key, then remove the other keys',
    (o) => ({ stage: 'reencrypt_active', force: !!o.force, skip: !!o.skip }),
    ['force', 'skip'],
  );
  put('rotate-keys', 'add a new key, rewrite every Secret with it and remove the old one', () => ({ stage: 'rotate_keys' }), []);
}
