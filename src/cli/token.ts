// `skiff token create|list|delete|generate`, as K3s's `k3s token`: bootstrap tokens, stored as the
// Secrets kube-system/bootstrap-token-<id> (type bootstrap.kubernetes.io/token) that agents may join
// with while they are valid; the token controller removes them once they expire. It talks to the
// server with a kubeconfig (--kubeconfig, $KUBECONFIG, or the server's --write-kubeconfig), and prints
// a created token in K3s's form, K10<CA hash>::<id>.<secret>.
import type { Command as Program } from 'commander';
import YAML from 'yaml';
import { loadKubeconfig } from '../client/kubeconfig.js';
import { ApiClient } from '../client/rest-client.js';
import { secrets, type Writable } from '../client/resources.js';
import { httpsTransport } from '../client/transport.js';
import { isNotFound } from '../k8s/errors.js';
import {
  BOOTSTRAP_TOKEN,
  BOOTSTRAP_TOKEN_ID,
  formatBootstrapJoinToken,
  generateBootstrapToken,
  parseBootstrapToken,
} from '../pki/join-token.js';
import { resolveSettings } from './config.js';
import { UsageError } from './values.js';

type Secret = Writable<import('kubernetes-types/core/v1.js').Secret>;

const NAMESPACE = 'kube-system';
const TYPE = 'bootstrap.kubernetes.io/token';
const USAGES = ['signing', 'authentication'];
export const DEFAULT_GROUP = 'system:bootstrappers:skiff:default-node-token';
const GROUP = /^system:bootstrappers:[a-z0-9:-]{0,255}[a-z0-9]$/;

const UNITS: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** A Go duration (`24h`, `1h30m`, `90s`; `0` for never), in ms. */
export function parseTtl(text: string): number {
  if (/^0+$/.test(text)) return 0;
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)];
  if (!parts.length || parts.map((p) => p[0]).join('') !== text)
    throw new UsageError(`invalid --ttl "${text}": expected a duration such as 24h, 30m or 90s, or 0 for a token that never expires`);
  return parts.reduce((ms, p) => ms + Number(p[1]) * UNITS[p[2]!]!, 0);
}

/** Go's duration.ShortHumanDuration, as `k3s token list` shows a TTL. */
export function shortHumanDuration(ms: number): string {
  const s = Math.floor(ms / 1000);
  if (s < -1) return '<invalid>';
  if (s < 0) return '0s';
  if (s < 60 * 2) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60 * 2) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h`;
  if (h < 24 * 365) return `${Math.floor(h / 24)}d`;
  return `${Math.floor(h / (24 * 365))}y`;
}

/** Columns as Go's tabwriter with minwidth 10, tabwidth 4, padding 3 lays them out (`k3s token list`). */
function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(10, ...rows.map((r) => r[i]!.length + 3)));
  return rows.map((r) => r.map((cell, i) => (i < r.length - 1 ? cell.padEnd(widths[i]!) : cell)).join('')).join('\n');
}

export interface BootstrapToken {
  id: string;
  secret: string;
  description?: string;
  expires?: string;
  usages: string[];
  groups: string[];
}

const decode = (data: Record<string, string> | undefined, key: string) =>
  data?.[key] === undefined ? undefined : Buffer.from(data[key]!, 'base64').toString('utf8');

export function tokenFromSecret(secret: Secret): BootstrapToken | undefined {
  const data = secret.data;
  const id = decode(data, 'token-id');
  const tokenSecret = decode(data, 'token-secret');
  if (!id || !tokenSecret) return undefined;
  const groups = decode(data, 'auth-extra-groups');
  return {
    id,
    secret: tokenSecret,
    description: decode(data, 'description'),
    expires: decode(data, 'expiration'),
    usages: USAGES.filter((u) => decode(data, `usage-bootstrap-${u}`) === 'true'),
    groups: groups ? groups.split(',') : [],
  };
}

/** The Secret a token is stored as (upstream's BootstrapTokenToSecret). */
export function tokenSecret(t: BootstrapToken): Secret {
  const stringData: Record<string, string> = { 'token-id': t.id, 'token-secret': t.secret };
  if (t.description) stringData.description = t.description;
  if (t.expires) stringData.expiration = t.expires;
  for (const u of t.usages) stringData[`usage-bootstrap-${u}`] = 'true';
  if (t.groups.length) stringData['auth-extra-groups'] = t.groups.join(',');
  return { apiVersion: 'v1', kind: 'Secret', metadata: { name: `bootstrap-token-${t.id}`, namespace: NAMESPACE }, type: TYPE, stringData };
}

interface Common {
  kubeconfig?: string;
  dataDir?: string;
  config?: string;
}

function client(opts: Common): { api: ApiClient; caPem: string } {
  const cli: Record<string, unknown> = {};
  if (opts.dataDir !== undefined) cli['data-dir'] = opts.dataDir;
  if (opts.config !== undefined) cli.config = opts.config;
  const file = opts.kubeconfig ?? process.env.KUBECONFIG ?? (resolveSettings('server', cli)['write-kubeconfig'] as string);
  let target: ReturnType<typeof loadKubeconfig>;
  try {
    target = loadKubeconfig(file);
  } catch (err) {
    throw new UsageError(`cannot read kubeconfig ${file}: ${(err as Error).message.split('\n')[0]}`);
  }
  return { api: new ApiClient(httpsTransport(target), 'skiff-token'), caPem: target.caPem };
}

function list(value: string, previous: string[] | undefined): string[] {
  return [
    ...(previous ?? []),
    ...value
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  ];
}

export function tokenCommand(program: Program): void {
  const token = program.command('token').description('manage bootstrap tokens (agents join with them while they are valid)');
  const common = (cmd: Program) =>
    cmd
      .option('--kubeconfig <file>', "kubeconfig of the server (default: $KUBECONFIG, or the server's --write-kubeconfig)")
      .option('--data-dir <dir>', "the server's data dir, for its config")
      .option('--config <file>', "the server's config file");

  common(
    token
      .command('create [token]')
      .description('create a bootstrap token on the server and print it as K10<CA hash>::<id>.<secret>')
      .option('--description <text>', 'a human friendly description of how this token is used')
      .option('--groups <group>', `extra groups the token authenticates as (default ${DEFAULT_GROUP})`, list)
      .option('--ttl <duration>', "how long until the token expires and is deleted (e.g. 1s, 2m, 3h; '0': never)", '24h')
      .option('--usages <usage>', 'how the token may be used: signing, authentication (default both)', list),
  ).action(
    async (given: string | undefined, opts: Common & { description?: string; groups?: string[]; ttl: string; usages?: string[] }) => {
      const text = given ?? generateBootstrapToken();
      const parsed = parseBootstrapToken(text);
      if (!parsed) throw new UsageError(`the bootstrap token "${text}" was not of the form "${BOOTSTRAP_TOKEN.source}"`);
      const ttl = parseTtl(opts.ttl);
      const usages = opts.usages ?? USAGES;
      for (const u of usages)
        if (!USAGES.includes(u))
          throw new UsageError(`invalid bootstrap token usage string: ${u}, valid usage options: ${USAGES.join(', ')}`);
      const groups = opts.groups ?? [DEFAULT_GROUP];
      for (const g of groups) if (!GROUP.test(g)) throw new UsageError(`bootstrap group "${g}" is invalid (must match ${GROUP.source})`);
      const { api, caPem } = client(opts);
      const store = api.resource(secrets);
      const existing = await store
        .get(NAMESPACE, `bootstrap-token-${parsed.id}`)
        .catch((err) => (isNotFound(err) ? undefined : Promise.reject(err)));
      if (existing) throw new Error(`a token with id "${parsed.id}" already exists`);
      const expires = ttl ? new Date(Date.now() + ttl).toISOString().replace(/\.\d{3}Z$/, 'Z') : undefined;
      await store.create(tokenSecret({ ...parsed, description: opts.description, expires, usages, groups }));
      process.stdout.write(`${formatBootstrapJoinToken(caPem, text)}\n`);
    },
  );

  common(
    token
      .command('list')
      .description('list the bootstrap tokens on the server')
      .option('-o, --output <format>', 'text, json or yaml', 'text'),
  ).action(async (opts: Common & { output: string }) => {
    if (!['text', 'json', 'yaml'].includes(opts.output))
      throw new UsageError(`invalid --output "${opts.output}": expected text, json or yaml`);
    const { api } = client(opts);
    const items = (await api.resource(secrets).list(NAMESPACE, { fieldSelector: `type=${TYPE}` })).items;
    const tokens = items.map(tokenFromSecret).filter((t): t is BootstrapToken => !!t);
    if (opts.output === 'json') return void process.stdout.write(`${JSON.stringify(tokens)}\n`);
    if (opts.output === 'yaml') return void process.stdout.write(YAML.stringify(tokens));
    const none = (s: string | undefined) => s || '<none>';
    const rows = [
      ['TOKEN', 'TTL', 'EXPIRES', 'USAGES', 'DESCRIPTION', 'EXTRA GROUPS'],
      ...tokens.map((t) => [
        t.id,
        t.expires ? shortHumanDuration(Date.parse(t.expires) - Date.now()) : '<forever>',
        t.expires ?? '<never>',
        none(t.usages.join(',')),
        none(t.description),
        none(t.groups.join(',')),
      ]),
    ];
    process.stdout.write(`${table(rows)}\n`);
  });

  common(token.command('delete <token...>').description('delete bootstrap tokens from the server (by id, or the whole token)')).action(
    async (given: string[], opts: Common) => {
      const ids = given.map((g) => {
        const text = g.includes('::') ? g.slice(g.indexOf('::') + 2) : g;
        const id = BOOTSTRAP_TOKEN_ID.test(text) ? text : parseBootstrapToken(text)?.id;
        if (!id) throw new UsageError(`given token didn't match pattern "${BOOTSTRAP_TOKEN_ID.source}" or "${BOOTSTRAP_TOKEN.source}"`);
        return id;
      });
      const { api } = client(opts);
      for (const id of ids) {
        await api
          .resource(secrets)
          .delete(NAMESPACE, `bootstrap-token-${id}`)
          .catch((err: Error) => {
            throw new Error(`failed to delete bootstrap token "${id}": ${err.message}`);
          });
        process.stdout.write(`bootstrap token "${id}" deleted\n`);
      }
    },
  );

  token
    .command('generate')
    .description('generate and print a bootstrap token, but do not create it on the server')
    .action(() => {
      process.stdout.write(`${generateBootstrapToken()}\n`);
    });
}
