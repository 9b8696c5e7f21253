// The host's resolver settings, as the node reads them for two uses: the upstream servers cluster DNS
// forwards to, and the base of pods' resolv.conf (dnsPolicy Default, and the search domains
// ClusterFirst appends). Which file: --resolv-conf when given (K3s's flag, the kubelet's
// --resolv-conf), else /etc/resolv.conf, unless it names only loopback servers (systemd-resolved's
// stub 127.0.0.53, which pods cannot reach) and /run/systemd/resolve/resolv.conf has real ones.
import fs from 'node:fs';
import net from 'node:net';

export interface ResolvConf {
  nameservers: string[];
  searches: string[];
  options: string[];
}

export const ETC_RESOLV_CONF = '/etc/resolv.conf';
/** systemd-resolved's list of the servers it forwards to. */
export const SYSTEMD_RESOLVED_UPSTREAMS = '/run/systemd/resolve/resolv.conf';

/** resolv.conf(5) as the kubelet reads it: the last `search` line wins (a lone "." means none), options add up. */
export function parseResolvConf(text: string): ResolvConf {
  const out: ResolvConf = { nameservers: [], searches: [], options: [] };
  for (const raw of text.split('\n')) {
    const line = raw.replace(/[#;].*$/, '').trim();
    const [key, ...values] = line.split(/\s+/);
    if (key === 'nameserver' && values[0]) out.nameservers.push(values[0]);
    else if (key === 'search' || key === 'domain') out.searches = values.filter((s) => s !== '.').map((s) => s.replace(/\.$/, ''));
    else if (key === 'options') out.options.push(...values);
  }
  return out;
}

/** A missing or unreadable file is an empty one (the node has no resolver), as glibc reads it. */
export function readResolvConf(file: string): ResolvConf {
  try {
    return parseResolvConf(fs.readFileSync(file, 'utf8'));
  } catch {
    return { nameservers: [], searches: [], options: [] };
  }
}

const isLoopback = (ip: string) => (net.isIPv4(ip) ? ip.startsWith('127.') : ip === '::1');

/** Whether a resolv.conf names at least one server reachable from outside the host's loopback. */
const hasRealServer = (file: string) => readResolvConf(file).nameservers.some((s) => net.isIP(s) && !isLoopback(s));

/** --resolv-conf as given, refused when it names no readable file (a typo would silently leave pods without upstreams). */
export function checkResolvConf(flag: string | undefined): string | undefined {
  if (flag === undefined) return undefined;
  try {
    fs.accessSync(flag, fs.constants.R_OK);
  } catch {
    throw new Error(`--resolv-conf ${flag}: no such readable file`);
  }
  return flag;
}

/** The file the node reads its resolver settings from (see the top of this file); `flag` is --resolv-conf. */
export function hostResolvConfPath(flag?: string): string {
  if (flag) return flag;
  for (const file of [ETC_RESOLV_CONF, SYSTEMD_RESOLVED_UPSTREAMS]) if (hasRealServer(file)) return file;
  return ETC_RESOLV_CONF;
}
