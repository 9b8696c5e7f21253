// K3s's registries.yaml (`--private-registry`, default /etc/skiff/registries.yaml): `mirrors:` (endpoint
// lists per registry, `*` for every registry) and `configs:` keyed by registry host (auth and TLS).
// Read once at start and turned into containerd's config by registry-hosts.ts; rewrites in image-rewrite.ts.
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';

export const DEFAULT_REGISTRIES_FILE = '/etc/skiff/registries.yaml';

export interface RegistryMirror {
  /** Endpoint URLs tried in order before the registry itself (scheme added when missing). */
  endpoints: string[];
  /** Repository rewrites at the endpoints (regexp → replacement, first match), see image-rewrite.ts. */
  rewrite: Record<string, string>;
}

export interface RegistryAuth {
  username?: string;
  password?: string;
  /** base64 of username:password. */
  auth?: string;
  identityToken?: string;
}

export interface RegistryTls {
  caFile?: string;
  certFile?: string;
  keyFile?: string;
  insecureSkipVerify?: boolean;
}

export interface Registries {
  mirrors: Record<string, RegistryMirror>;
  configs: Record<string, { auth?: RegistryAuth; tls?: RegistryTls }>;
}

export const noRegistries = (): Registries => ({ mirrors: {}, configs: {} });

/** The registries file, or none when it is absent (as K3s); a malformed one throws a one-line error. */
export function readRegistries(file: string): Registries {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'ENOENT') return noRegistries();
    const why = e.code === 'EISDIR' ? 'it is a directory' : e.code === 'EACCES' ? 'permission denied' : e.message;
    throw new Error(`cannot read registries file ${file}: ${why}`);
  }
  return parseRegistries(text, file);
}

type Node = Record<string, unknown>;

/** Parses registries.yaml text; relative file paths are taken from `file`'s folder. */
export function parseRegistries(text: string, file: string): Registries {
  const fail = (where: string, why: string): never => {
    throw new Error(`registries file ${file}: ${where ? `${where}: ` : ''}${why}`);
  };
  let doc: unknown;
  try {
    // Failsafe schema: every scalar is a string, so a password such as 0123 stays as written.
    doc = YAML.parse(text, { schema: 'failsafe', uniqueKeys: true });
  } catch (err) {
    fail('', `not valid YAML: ${(err as Error).message.split('\n')[0].replace(/:$/, '')}`);
  }
  const out = noRegistries();
  if (doc === null || doc === undefined || doc === '') return out;
  const top = mapping(doc, '', fail, ['mirrors', 'configs']);
  const dir = path.dirname(path.resolve(file));

  for (const [name, value] of Object.entries(mapping(top.mirrors, 'mirrors', fail))) {
    const where = `mirrors."${name}"`;
    checkRegistryName(name, where, fail);
    const m = mapping(value, where, fail, ['endpoint', 'rewrite']);
    const endpoints = list(m.endpoint, `${where}.endpoint`, fail).map((e, i) => endpointUrl(e, `${where}.endpoint[${i}]`, fail));
    const rewrite: Record<string, string> = {};
    for (const [re, to] of Object.entries(mapping(m.rewrite, `${where}.rewrite`, fail))) {
      try {
        new RegExp(re);
      } catch {
        fail(`${where}.rewrite`, `"${re}" is not a valid regular expression`);
      }
      rewrite[re] = scalar(to, `${where}.rewrite."${re}"`, fail) ?? '';
    }
    out.mirrors[name] = { endpoints, rewrite };
  }

  for (const [name, value] of Object.entries(mapping(top.configs, 'configs', fail))) {
    const where = `configs."${name}"`;
    checkRegistryName(name, where, fail);
    const c = mapping(value, where, fail, ['auth', 'tls']);
    const config: Registries['configs'][string] = {};
    if (c.auth !== undefined && c.auth !== null) {
      const a = mapping(c.auth, `${where}.auth`, fail, ['username', 'password', 'auth', 'identitytoken']);
      if (name === '*') fail(`${where}.auth`, 'credentials need a registry host, not "*"');
      const auth: RegistryAuth = {
        username: scalar(a.username, `${where}.auth.username`, fail),
        password: scalar(a.password, `${where}.auth.password`, fail),
        auth: scalar(a.auth, `${where}.auth.auth`, fail),
        identityToken: scalar(a.identitytoken, `${where}.auth.identitytoken`, fail),
      };
      if (auth.auth !== undefined && !/^[A-Za-z0-9+/]+=*$/.test(auth.auth))
        fail(`${where}.auth.auth`, 'must be base64 of username:password');
      config.auth = dropUndefined(auth);
    }
    if (c.tls !== undefined && c.tls !== null) {
      const t = mapping(c.tls, `${where}.tls`, fail, ['ca_file', 'cert_file', 'key_file', 'insecure_skip_verify']);
      const filePath = (key: string) => {
        const p = scalar(t[key], `${where}.tls.${key}`, fail);
        if (p === undefined || p === '') return undefined;
        const abs = path.resolve(dir, p);
        if (!fs.existsSync(abs)) fail(`${where}.tls.${key}`, `${abs}: no such file`);
        return abs;
      };
      const skip = scalar(t.insecure_skip_verify, `${where}.tls.insecure_skip_verify`, fail);
      if (skip !== undefined && !/^(true|false)$/i.test(skip)) fail(`${where}.tls.insecure_skip_verify`, 'expected true or false');
      const tls: RegistryTls = {
        caFile: filePath('ca_file'),
        certFile: filePath('cert_file'),
        keyFile: filePath('key_file'),
        insecureSkipVerify: skip === undefined ? undefined : skip.toLowerCase() === 'true',
      };
      if (tls.keyFile && !tls.certFile) fail(`${where}.tls`, 'key_file needs cert_file');
      config.tls = dropUndefined(tls);
    }
    out.configs[name] = config;
  }
  return out;
}

type Fail = (where: string, why: string) => never;

function mapping(value: unknown, where: string, fail: Fail, keys?: string[]): Node {
  if (value === undefined || value === null || value === '') return {};
  if (typeof value !== 'object' || Array.isArray(value)) return fail(where, 'expected a mapping');
  for (const key of Object.keys(value)) if (keys && !keys.includes(key)) fail(where, `unknown key "${key}" (expected ${keys.join(', ')})`);
  return value as Node;
}

function list(value: unknown, where: string, fail: Fail): string[] {
  if (value === undefined || value === null || value === '') return [];
  if (!Array.isArray(value)) return fail(where, 'expected a list');
  return value.map((v, i) => scalar(v, `${where}[${i}]`, fail) ?? fail(`${where}[${i}]`, 'must not be empty'));
}

function scalar(value: unknown, where: string, fail: Fail): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') return fail(where, 'expected a single value');
  return value;
}

/** A registry is named by host[:port] as in image names (docker.io, 127.0.0.1:5000), or `*`. */
function checkRegistryName(name: string, where: string, fail: Fail): void {
  if (name === '*') return;
  if (!/^([A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*|\[[0-9A-Fa-f:.]+\])(:\d{1,5})?$/.test(name))
    fail(where, 'expected a registry host[:port] such as docker.io or registry.local:5000 (no scheme or path)');
}

function endpointUrl(text: string, where: string, fail: Fail): string {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `https://${text}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    return fail(where, `"${text}" is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') fail(where, `"${text}": only http and https endpoints`);
  if (url.search || url.hash || url.username || url.password)
    fail(where, `"${text}": no query, fragment or credentials in an endpoint (credentials go in configs)`);
  return `${url.protocol}//${url.host}${url.pathname === '/' ? '' : url.pathname.replace(/\/$/, '')}`;
}

function dropUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}
