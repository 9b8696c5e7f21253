// A pod's resolv.conf (the CRI's DNSConfig), as the kubelet forms it: ClusterFirst pods get the
// cluster DNS server and the search list `<ns>.svc.<domain> svc.<domain> <domain>` plus the host's,
// with `ndots:5`; hostNetwork pods get that only with ClusterFirstWithHostNet (plain ClusterFirst
// falls back to Default); Default gets the host's settings; None starts empty. `dnsConfig` is then
// merged in (duplicates dropped, its options overriding same-named ones), and the result cut to the
// resolver's limits: 3 nameservers, 32 search domains of at most 253 characters, 2048 in all.
import type { PodDNSConfig } from 'kubernetes-types/core/v1.js';
import type { Writable } from '../../client/resources.js';
import type { ResolvConf } from '../resolv-conf.js';
import type { P } from './labels.js';

export interface PodDnsSettings {
  /** --cluster-dns */
  clusterDNS: string;
  /** --cluster-domain */
  clusterDomain: string;
}

export interface DnsConfig {
  servers: string[];
  searches: string[];
  options: string[];
}

export const MAX_NAMESERVERS = 3;
export const MAX_SEARCH_DOMAINS = 32;
const MAX_SEARCH_DOMAIN_LENGTH = 253;
const MAX_SEARCH_LINE_CHARS = 2048;
const CLUSTER_OPTIONS = ['ndots:5'];

const unique = (values: string[]) => [...new Set(values)];

/** What resolv.conf the pod gets; `problems` says what was cut to fit the limits (the kubelet's DNSConfigForming event). */
export function podDnsConfig(pod: P, cluster: PodDnsSettings, host: ResolvConf): { config: DnsConfig; problems: string[] } {
  const spec = pod.spec ?? { containers: [] };
  const policy = spec.dnsPolicy ?? 'ClusterFirst';
  const clusterFirst = policy === 'ClusterFirstWithHostNet' || (policy === 'ClusterFirst' && !spec.hostNetwork);
  let config: DnsConfig;
  if (policy === 'None') config = { servers: [], searches: [], options: [] };
  else if (clusterFirst) {
    const d = cluster.clusterDomain;
    const ns = pod.metadata?.namespace ?? 'default';
    config = {
      servers: [cluster.clusterDNS],
      searches: unique([`${ns}.svc.${d}`, `svc.${d}`, d, ...host.searches]),
      options: [...CLUSTER_OPTIONS],
    };
  } else config = { servers: [...host.nameservers], searches: [...host.searches], options: [...host.options] };
  if (spec.dnsConfig) config = withPodDnsConfig(config, spec.dnsConfig);
  return fitLimits(config);
}

function withPodDnsConfig(base: DnsConfig, extra: Writable<PodDNSConfig>): DnsConfig {
  const options = new Map<string, string | undefined>();
  const set = (name: string, value: string | undefined) => {
    options.delete(name); // a later setting of the same option takes the later place, as it would in the file
    options.set(name, value);
  };
  for (const o of base.options) {
    const i = o.indexOf(':');
    set(i < 0 ? o : o.slice(0, i), i < 0 ? undefined : o.slice(i + 1));
  }
  for (const o of extra.options ?? []) if (o.name) set(o.name, o.value || undefined);
  return {
    servers: unique([...base.servers, ...(extra.nameservers ?? [])]),
    searches: unique([...base.searches, ...(extra.searches ?? [])]),
    options: [...options].map(([name, value]) => (value === undefined ? name : `${name}:${value}`)),
  };
}

function fitLimits(config: DnsConfig): { config: DnsConfig; problems: string[] } {
  const problems: string[] = [];
  if (config.servers.length > MAX_NAMESERVERS) {
    config.servers = config.servers.slice(0, MAX_NAMESERVERS);
    problems.push(
      `Nameserver limits were exceeded, some nameservers have been omitted, the applied nameserver line is: ${config.servers.join(' ')}`,
    );
  }
  let searches = config.searches.slice(0, MAX_SEARCH_DOMAINS).filter((s) => s.length <= MAX_SEARCH_DOMAIN_LENGTH);
  while (searches.join(' ').length > MAX_SEARCH_LINE_CHARS) searches = searches.slice(0, -1);
  if (searches.length !== config.searches.length) {
    problems.push(
      `Search Line limits were exceeded, some search paths have been omitted, the applied search line is: ${searches.join(' ')}`,
    );
    config.searches = searches;
  }
  return { config, problems };
}
