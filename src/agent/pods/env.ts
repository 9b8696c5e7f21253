// A container's environment, as the kubelet builds it: the namespace's service variables (with
// enableServiceLinks, and always the API server's), then envFrom in order, then env, each value able
// to use $(NAME) of those before it. A missing ConfigMap, Secret or key that is not optional is a
// ConfigError: the container waits in CreateContainerConfigError.
import type { Container, EnvFromSource, EnvVar, Service } from 'kubernetes-types/core/v1.js';
import type { Writable } from '../../client/resources.js';
import { fieldValue, resourceValue, type PodView } from './downward.js';
import { ConfigError, type PodSources } from './sources.js';

/** Replaces $(NAME) with a defined variable's value; $$(NAME) is a literal $(NAME). */
export function expand(text: string, vars: Map<string, string>): string {
  return text.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g, (whole, name: string | undefined) =>
    name === undefined ? '$' : (vars.get(name) ?? whole),
  );
}

const envName = (name: string) => name.toUpperCase().replace(/-/g, '_');

/** Docker-link style variables for each Service with a cluster IP (what `enableServiceLinks` gives). */
function serviceVariables(services: Writable<Service>[]): Map<string, string> {
  const vars = new Map<string, string>();
  for (const svc of services) {
    const ip = svc.spec?.clusterIP;
    const ports = svc.spec?.ports ?? [];
    if (!ip || ip === 'None' || ports.length === 0) continue;
    const name = envName(svc.metadata!.name!);
    vars.set(`${name}_SERVICE_HOST`, ip);
    vars.set(`${name}_SERVICE_PORT`, String(ports[0]!.port));
    for (const p of ports) if (p.name) vars.set(`${name}_SERVICE_PORT_${envName(p.name)}`, String(p.port));
    const first = ports[0]!;
    vars.set(`${name}_PORT`, `${(first.protocol ?? 'TCP').toLowerCase()}://${ip}:${first.port}`);
    for (const p of ports) {
      const proto = p.protocol ?? 'TCP';
      const prefix = `${name}_PORT_${p.port}_${proto}`;
      vars.set(prefix, `${proto.toLowerCase()}://${ip}:${p.port}`);
      vars.set(`${prefix}_PROTO`, proto.toLowerCase());
      vars.set(`${prefix}_PORT`, String(p.port));
      vars.set(`${prefix}_ADDR`, ip);
    }
  }
  return vars;
}

async function fromSource(namespace: string, src: Writable<EnvFromSource>, sources: PodSources): Promise<Record<string, string>> {
  if (src.configMapRef) {
    const cm = await sources.configMap(namespace, src.configMapRef.name!);
    if (!cm) {
      if (src.configMapRef.optional) return {};
      throw new ConfigError(`configmap "${src.configMapRef.name}" not found`);
    }
    return { ...cm.data };
  }
  if (src.secretRef) {
    const secret = await sources.secret(namespace, src.secretRef.name!);
    if (!secret) {
      if (src.secretRef.optional) return {};
      throw new ConfigError(`secret "${src.secretRef.name}" not found`);
    }
    return Object.fromEntries(Object.entries(secret.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString()]));
  }
  return {};
}

async function envValue(
  view: PodView,
  container: Writable<Container>,
  env: Writable<EnvVar>,
  vars: Map<string, string>,
  sources: PodSources,
): Promise<string | undefined> {
  const from = env.valueFrom;
  const namespace = view.pod.metadata!.namespace!;
  if (!from) return expand(env.value ?? '', vars);
  if (from.fieldRef) return fieldValue(view, from.fieldRef);
  if (from.resourceFieldRef) return resourceValue(view, container, from.resourceFieldRef, sources.allocatable());
  if (from.configMapKeyRef) {
    const ref = from.configMapKeyRef;
    const value = (await sources.configMap(namespace, ref.name!))?.data?.[ref.key];
    if (value === undefined && !ref.optional) throw new ConfigError(`couldn't find key ${ref.key} in ConfigMap ${namespace}/${ref.name}`);
    return value;
  }
  if (from.secretKeyRef) {
    const ref = from.secretKeyRef;
    const value = (await sources.secret(namespace, ref.name!))?.data?.[ref.key];
    if (value === undefined && !ref.optional) throw new ConfigError(`couldn't find key ${ref.key} in Secret ${namespace}/${ref.name}`);
    return value === undefined ? undefined : Buffer.from(value, 'base64').toString();
  }
  return undefined;
}

/** The variables in the order they apply; later ones win. */
export async function containerEnv(view: PodView, container: Writable<Container>, sources: PodSources): Promise<Map<string, string>> {
  const namespace = view.pod.metadata!.namespace!;
  const vars = new Map<string, string>();
  const linked = view.pod.spec?.enableServiceLinks !== false ? await sources.services(namespace) : [];
  // The API server's variables (KUBERNETES_SERVICE_HOST...) are always there, for in-cluster clients.
  const inDefault = namespace === 'default' && view.pod.spec?.enableServiceLinks !== false ? linked : await sources.services('default');
  const isMaster = (s: Writable<Service>) => s.metadata?.namespace === 'default' && s.metadata?.name === 'kubernetes';
  for (const [k, v] of serviceVariables([...linked.filter((s) => !isMaster(s)), ...inDefault.filter(isMaster)])) vars.set(k, v);
  for (const src of container.envFrom ?? []) {
    for (const [k, v] of Object.entries(await fromSource(namespace, src, sources))) vars.set((src.prefix ?? '') + k, v);
  }
  for (const env of container.env ?? []) {
    const value = await envValue(view, container, env, vars, sources);
    if (value !== undefined) vars.set(env.name, value);
  }
  return vars;
}
