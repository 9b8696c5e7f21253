// registries.yaml as containerd 1.6 takes it. Mirrors and TLS go into the `config_path` layout (one
// <host>/hosts.toml per registry), as K3s writes them: each mirror endpoint carries the TLS settings
// of its own host, and the registry itself stays the last resort ("default endpoint fallback"). The
// CRI plugin's older `registry.mirrors` / `configs.tls` are deprecated and cannot be combined with
// config_path; hosts.toml has no credentials, so auth stays in `registry.configs."<host>".auth`,
// which containerd looks up by the host each request goes to (a mirror's host for mirrored pulls).
import fs from 'node:fs';
import path from 'node:path';
import type { Registries, RegistryTls } from './registries.js';

const quote = (s: string) => JSON.stringify(s);

/** The folder containerd reads for a registry: its host, or `_default` for `*`. */
export const hostsDirName = (registry: string) => (registry === '*' ? '_default' : registry);

function tlsLines(tls: RegistryTls | undefined, indent: string): string[] {
  if (!tls) return [];
  const lines: string[] = [];
  if (tls.caFile) lines.push(`ca = ${quote(tls.caFile)}`);
  if (tls.certFile) lines.push(`client = [[${quote(tls.certFile)}, ${quote(tls.keyFile ?? '')}]]`);
  if (tls.insecureSkipVerify !== undefined) lines.push(`skip_verify = ${tls.insecureSkipVerify}`);
  return lines.map((l) => indent + l);
}

/** hosts.toml text for every registry that needs one, keyed by folder name. */
export function hostsFiles(r: Registries): Record<string, string> {
  const names = new Set([
    ...Object.keys(r.mirrors),
    ...Object.entries(r.configs)
      .filter(([, c]) => c.tls)
      .map(([name]) => name),
  ]);
  const files: Record<string, string> = {};
  // Rewritten pulls name a mirror endpoint's host directly (image-rewrite.ts): one that speaks plain
  // http says so in a file of its own, unless it has one.
  for (const m of Object.values(r.mirrors)) {
    if (!Object.keys(m.rewrite).length) continue;
    for (const e of m.endpoints.map((x) => new URL(x)).filter((u) => u.protocol === 'http:' && !names.has(u.host))) {
      files[hostsDirName(e.host)] =
        `# Written by skiff from registries.yaml at every start.\nserver = ${quote(`http://${e.host}`)}\n\n[host]\n`;
    }
  }
  for (const name of [...names].sort()) {
    const tls = r.configs[name]?.tls;
    const lines = ['# Written by skiff from registries.yaml at every start.'];
    // Without TLS settings, containerd's own default endpoint is right (https, or plain http for
    // localhost); with them it must be https, even for localhost.
    if (tls && name !== '*') lines.push(`server = ${quote(name === 'docker.io' ? 'https://registry-1.docker.io' : `https://${name}`)}`);
    lines.push(...tlsLines(tls, ''));
    const endpoints = r.mirrors[name]?.endpoints ?? [];
    // containerd 1.6 ignores a hosts.toml without a [host] table (falling back to defaults silently).
    if (!endpoints.length) lines.push('', '[host]');
    for (const endpoint of endpoints) {
      const url = new URL(endpoint);
      lines.push('', `[host.${quote(endpoint)}]`, '  capabilities = ["pull", "resolve"]');
      // A path of its own (not /v2) is the API root as given, as K3s does.
      if (url.pathname !== '/' && url.pathname !== '' && !/\/v2\/?$/.test(url.pathname)) lines.push('  override_path = true');
      lines.push(...tlsLines(r.configs[url.host]?.tls, '  '));
    }
    files[hostsDirName(name)] = `${lines.join('\n')}\n`;
  }
  return Object.fromEntries(Object.entries(files).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** The CRI plugin's registry section: config_path and the credentials. */
export function criRegistryToml(r: Registries, hostsDir: string): string[] {
  const lines = ['  [plugins."io.containerd.grpc.v1.cri".registry]', `    config_path = ${quote(hostsDir)}`];
  for (const [name, config] of Object.entries(r.configs).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const a = config.auth;
    if (!a || !Object.keys(a).length) continue;
    lines.push(`  [plugins."io.containerd.grpc.v1.cri".registry.configs.${quote(name)}.auth]`);
    if (a.username !== undefined) lines.push(`    username = ${quote(a.username)}`);
    if (a.password !== undefined) lines.push(`    password = ${quote(a.password)}`);
    if (a.auth !== undefined) lines.push(`    auth = ${quote(a.auth)}`);
    if (a.identityToken !== undefined) lines.push(`    identitytoken = ${quote(a.identityToken)}`);
  }
  return lines;
}

/** Replaces the hosts folder with the files for `r` (a registry dropped from the file goes too). */
export function writeHostsDir(dir: string, r: Registries): void {
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  for (const [name, text] of Object.entries(hostsFiles(r))) {
    fs.mkdirSync(path.join(dir, name), { recursive: true });
    fs.writeFileSync(path.join(dir, name, 'hosts.toml'), text);
  }
}
