// Pod Security admission, upstream's PodSecurity plugin: a namespace's pod-security.kubernetes.io
// labels (or the cluster's defaults) say which level each mode holds pods to. `enforce` refuses a
// pod that violates it (403, upstream's message); `warn` answers with a Warning the client prints;
// `audit` has no audit log to annotate here, so its annotation is written as a log line. Workload
// kinds with a pod template (Deployments, Jobs, ...) are warned and audited, never refused (their
// pods are). Changing a namespace's enforce label warns of the pods already there that the new
// level would refuse; a label that does not parse is refused (422).
import { ApiError, invalid } from '../../../k8s/errors.js';
import type { KObject, StoredObject } from '../../../k8s/object.js';
import { log } from '../../../log.js';
import type { Registry } from '../../registry/registry.js';
import type { ResourceDef } from '../../registry/types.js';
import type { ObjectReader, WriteContext } from '../../storage/object-store.js';
import type { AdmissionPlugin } from '../plugin.js';
import { evaluatePod, forbiddenDetail, forbiddenReason } from './evaluate.js';
import { at, type Json, list, obj, str } from './pod-view.js';
import {
  compareLevels,
  DEFAULT_POLICY,
  type LevelVersion,
  levelVersionString,
  type Policy,
  policyFromLabels,
  sameLevelVersion,
} from './policy.js';

export interface PodSecurityConfig {
  /** The cluster's levels where a namespace has no label (upstream's PodSecurityConfiguration defaults). */
  defaults?: Policy;
  /** Requesting users, namespaces and runtime classes never checked. */
  exemptions?: { usernames?: string[]; namespaces?: string[]; runtimeClasses?: string[] };
}

/** Upstream's audit annotation key for a violation of the audit level. */
export const AUDIT_ANNOTATION = 'pod-security.kubernetes.io/audit-violations';

/** Pod subresources that cannot change what the policy looks at. */
const IGNORED_POD_SUBRESOURCES = new Set(['exec', 'attach', 'binding', 'eviction', 'log', 'portforward', 'proxy', 'status']);
/** Most pods a namespace label change is checked against, as upstream. */
const MAX_PODS_TO_CHECK = 3000;

/** Where a workload kind keeps its pod template. */
const TEMPLATES: Record<string, (o: Json) => Json | undefined> = {
  '/replicationcontrollers': (o) => at(o, 'spec', 'template'),
  '/podtemplates': (o) => at(o, 'template'),
  'apps/replicasets': (o) => at(o, 'spec', 'template'),
  'apps/deployments': (o) => at(o, 'spec', 'template'),
  'apps/statefulsets': (o) => at(o, 'spec', 'template'),
  'apps/daemonsets': (o) => at(o, 'spec', 'template'),
  'batch/jobs': (o) => at(o, 'spec', 'template'),
  'batch/cronjobs': (o) => at(o, 'spec', 'jobTemplate', 'spec', 'template'),
};

const podParts = (o: Json | undefined) => ({ meta: obj(o?.metadata) ?? {}, spec: obj(o?.spec) ?? {} });

/** Whether a pod update touches what the policy looks at (upstream: images and seccomp annotations). */
function significantPodUpdate(pod: Json, old: Json): boolean {
  const notes = (p: Json) => obj(obj(p.metadata)?.annotations) ?? {};
  const [a, b] = [notes(pod), notes(old)];
  if (a['seccomp.security.alpha.kubernetes.io/pod'] !== b['seccomp.security.alpha.kubernetes.io/pod']) return true;
  const spec = obj(pod.spec) ?? {};
  const oldSpec = obj(old.spec) ?? {};
  const changed = (c: Json | undefined, o: Json | undefined) => {
    if (!c || !o) return c !== o;
    const key = `container.seccomp.security.alpha.kubernetes.io/${str(c.name)}`;
    return c.image !== o.image || a[key] !== b[key];
  };
  for (const field of ['containers', 'initContainers']) {
    const now = list(spec[field]);
    const before = list(oldSpec[field]);
    if (now.length !== before.length) return true;
    if (now.some((c, i) => changed(obj(c), obj(before[i])))) return true;
  }
  const oldEphemeral = list(oldSpec.ephemeralContainers).map(obj);
  return list(spec.ephemeralContainers)
    .map(obj)
    .some((c) => {
      const was = oldEphemeral.find((o) => o?.name === c?.name);
      return !was || changed(c, was);
    });
}

export function podSecurityAdmission(objects: ObjectReader, registry: Registry, config: PodSecurityConfig = {}): AdmissionPlugin {
  const defaults = config.defaults ?? DEFAULT_POLICY;
  const exemptNamespaces = new Set(config.exemptions?.namespaces ?? []);
  const exemptRuntimeClasses = new Set(config.exemptions?.runtimeClasses ?? []);
  const exemptUsers = new Set(config.exemptions?.usernames ?? []);
  const exempt = (namespace: string | undefined, ctx: WriteContext) =>
    (namespace !== undefined && exemptNamespaces.has(namespace)) || (ctx.user !== undefined && exemptUsers.has(ctx.user.username));
  const namespaces = () => registry.byResource('', 'v1', 'namespaces')!;
  const pods = () => registry.byResource('', 'v1', 'pods')!;

  async function namespacePolicy(name: string | undefined) {
    const ns = name === undefined ? undefined : await objects.tryGet(namespaces(), undefined, name);
    return policyFromLabels(ns?.metadata.labels, defaults);
  }

  /** Evaluates a pod or template for each mode asked for; audit and warn as they say, the enforce result returned. */
  function evaluate(
    def: ResourceDef,
    object: KObject,
    policy: Policy,
    parseErrors: string | undefined,
    pod: { meta: Json; spec: Json },
    ctx: WriteContext,
    enforce: boolean,
  ): void {
    if (exemptRuntimeClasses.has(str(pod.spec.runtimeClassName))) return;
    const cache = new Map<string, ReturnType<typeof evaluatePod>>();
    const run = (lv: LevelVersion) => {
      const key = levelVersionString(lv);
      let v = cache.get(key);
      if (!v) cache.set(key, (v = evaluatePod(lv, pod.meta, pod.spec)));
      return v;
    };
    let refused: ApiError | undefined;
    if (enforce) {
      const v = run(policy.enforce);
      if (v.length) {
        const name = object.metadata?.name ?? '';
        refused = new ApiError(
          403,
          'Forbidden',
          `pods "${name}" is forbidden: violates PodSecurity "${levelVersionString(policy.enforce)}": ${forbiddenDetail(v)}`,
          { name, kind: 'pods' },
        );
      }
    }
    const audit = run(policy.audit);
    if (audit.length || parseErrors) {
      // No audit log to carry upstream's audit annotations: they go to the server's log instead.
      log.info(
        {
          resource: def.group ? `${def.plural}.${def.group}` : def.plural,
          namespace: object.metadata?.namespace,
          name: object.metadata?.name,
          ...(audit.length
            ? { [AUDIT_ANNOTATION]: `would violate PodSecurity "${levelVersionString(policy.audit)}": ${forbiddenDetail(audit)}` }
            : {}),
          ...(parseErrors ? { 'pod-security.kubernetes.io/error': `Failed to parse policy: ${parseErrors}` } : {}),
        },
        'PodSecurity audit',
      );
    }
    if (refused) throw refused;
    const warn = run(policy.warn);
    if (warn.length) ctx.warnings?.push(`would violate PodSecurity "${levelVersionString(policy.warn)}": ${forbiddenDetail(warn)}`);
  }

  async function validatePod(def: ResourceDef, pod: KObject, old: StoredObject | undefined, ctx: WriteContext): Promise<void> {
    if (ctx.subresource && IGNORED_POD_SUBRESOURCES.has(ctx.subresource)) return;
    const namespace = pod.metadata?.namespace;
    if (exempt(namespace, ctx)) return;
    const { policy, errors } = await namespacePolicy(namespace);
    const privileged = (lv: LevelVersion) => lv.level === 'privileged';
    if (!errors.length && privileged(policy.enforce) && privileged(policy.warn) && privileged(policy.audit)) return;
    if (old && !significantPodUpdate(pod as Json, old as unknown as Json)) return;
    evaluate(def, pod, policy, errorText(errors), podParts(pod as Json), ctx, true);
  }

  async function validateTemplate(def: ResourceDef, workload: KObject, ctx: WriteContext, template: Json | undefined): Promise<void> {
    if (ctx.subresource || !template) return;
    const namespace = workload.metadata?.namespace;
    if (exempt(namespace, ctx)) return;
    const { policy, errors } = await namespacePolicy(namespace);
    if (!errors.length && policy.warn.level === 'privileged' && policy.audit.level === 'privileged') return;
    evaluate(def, workload, policy, errorText(errors), podParts(template), ctx, false);
  }

  async function validateNamespace(def: ResourceDef, ns: KObject, old: StoredObject | undefined, ctx: WriteContext): Promise<void> {
    if (ctx.subresource) return;
    const next = policyFromLabels(ns.metadata?.labels, defaults);
    const name = ns.metadata?.name ?? '';
    if (!old) {
      if (next.errors.length) throw invalid(def.kind, def.group, name, next.errors);
      return;
    }
    const before = policyFromLabels(old.metadata.labels, defaults);
    if (next.errors.length && errorText(next.errors) !== errorText(before.errors)) throw invalid(def.kind, def.group, name, next.errors);
    const [now, was] = [next.policy.enforce, before.policy.enforce];
    if (sameLevelVersion(now, was) || now.level === 'privileged') return;
    if (now.minor === was.minor && compareLevels(now.level, was.level) < 1) return;
    if (exemptNamespaces.has(name)) return;
    ctx.warnings?.push(...(await checkExistingPods(name, now)));
  }

  /** Upstream's warnings for the pods of a namespace that its new enforce level would refuse. */
  async function checkExistingPods(namespace: string, enforce: LevelVersion): Promise<string[]> {
    const all = (await objects.list(pods(), namespace)).items;
    const checked = all.slice(0, MAX_PODS_TO_CHECK);
    const byReason = new Map<string, { first: string; count: number }>();
    for (const pod of checked) {
      const parts = podParts(pod as unknown as Json);
      if (exemptRuntimeClasses.has(str(parts.spec.runtimeClassName))) continue;
      const v = evaluatePod(enforce, parts.meta, parts.spec);
      if (!v.length) continue;
      const reason = forbiddenReason(v);
      const seen = byReason.get(reason);
      if (!seen) byReason.set(reason, { first: pod.metadata.name, count: 1 });
      else {
        seen.count++;
        if (pod.metadata.name < seen.first) seen.first = pod.metadata.name;
      }
    }
    const warnings: string[] = [];
    if (checked.length < all.length)
      warnings.push(`new PodSecurity enforce level only checked against the first ${checked.length} of ${all.length} existing pods`);
    if (byReason.size)
      warnings.push(`existing pods in namespace "${namespace}" violate the new PodSecurity enforce level "${levelVersionString(enforce)}"`);
    const perPod = [...byReason].map(([reason, { first, count }]) => {
      const who = count === 1 ? first : count === 2 ? `${first} (and 1 other pod)` : `${first} (and ${count - 1} other pods)`;
      return `${who}: ${reason}`;
    });
    return [...warnings, ...perPod.sort()];
  }

  return {
    group: '*',
    resource: '*',
    async validate(def, object, old, ctx) {
      if (def.group === '' && def.plural === 'namespaces') return validateNamespace(def, object, old, ctx);
      if (def.group === '' && def.plural === 'pods') return validatePod(def, object, old, ctx);
      const template = TEMPLATES[`${def.group}/${def.plural}`];
      if (template) return validateTemplate(def, object, ctx, template(object as Json));
    },
  };
}

function errorText(errors: { field: string; detail: string }[]): string | undefined {
  return errors.length ? errors.map((e) => `${e.field}: ${e.detail}`).join(', ') : undefined;
}
