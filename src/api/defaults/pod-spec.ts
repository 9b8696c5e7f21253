// Pod spec defaults as Kubernetes fills them in, for pods and for every pod template.
import type { Container, GRPCAction, PodSpec, Probe } from 'kubernetes-types/core/v1.js';

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

function defaultProbe(p: Probe | undefined): void {
  if (!p) return;
  const probe = p as Mutable<Probe>;
  probe.timeoutSeconds ??= 1;
  probe.periodSeconds ??= 10;
  probe.successThreshold ??= 1;
  probe.failureThreshold ??= 3;
  if (probe.httpGet) probe.httpGet.scheme ??= 'HTTP';
  // kubectl describe reads grpc.service without checking it is there.
  if (probe.grpc) (probe.grpc as Mutable<GRPCAction>).service ??= '';
}

/** `Always` for `:latest` or untagged images, `IfNotPresent` for tags and digests. */
export function defaultPullPolicy(image: string | undefined): string {
  if (!image) return 'IfNotPresent';
  if (image.includes('@')) return 'IfNotPresent';
  const lastPart = image.slice(image.lastIndexOf('/') + 1);
  const tag = lastPart.includes(':') ? lastPart.slice(lastPart.indexOf(':') + 1) : '';
  return tag === '' || tag === 'latest' ? 'Always' : 'IfNotPresent';
}

function defaultContainer(c: Mutable<Container>): void {
  c.terminationMessagePath ??= '/dev/termination-log';
  c.terminationMessagePolicy ??= 'File';
  c.imagePullPolicy ??= defaultPullPolicy(c.image);
  c.resources ??= {};
  // Requests default to limits where only limits are given.
  const limits = c.resources.limits;
  if (limits) c.resources.requests = { ...limits, ...c.resources.requests };
  for (const p of c.ports ?? []) (p as { protocol?: string }).protocol ??= 'TCP';
  for (const e of c.env ?? []) if (e.valueFrom?.fieldRef) (e.valueFrom.fieldRef as { apiVersion?: string }).apiVersion ??= 'v1';
  defaultProbe(c.livenessProbe);
  defaultProbe(c.readinessProbe);
  defaultProbe(c.startupProbe);
}

export function defaultPodSpec(spec: PodSpec | undefined): void {
  if (!spec) return;
  const s = spec as Mutable<PodSpec>;
  s.restartPolicy ??= 'Always';
  s.terminationGracePeriodSeconds ??= 30;
  s.dnsPolicy ??= 'ClusterFirst';
  s.securityContext ??= {};
  s.schedulerName ??= 'default-scheduler';
  for (const c of [...(s.initContainers ?? []), ...(s.containers ?? [])]) defaultContainer(c as Mutable<Container>);
  for (const v of s.volumes ?? []) {
    if (v.configMap) (v.configMap as { defaultMode?: number }).defaultMode ??= 0o644;
    if (v.secret) (v.secret as { defaultMode?: number }).defaultMode ??= 0o644;
    if (v.downwardAPI) (v.downwardAPI as { defaultMode?: number }).defaultMode ??= 0o644;
    if (v.projected) (v.projected as { defaultMode?: number }).defaultMode ??= 0o644;
    if (v.hostPath) (v.hostPath as { type?: string }).type ??= '';
  }
}
