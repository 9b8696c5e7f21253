// Upstream's check registry: which checks (and which version of each) a level and policy version
// run, in upstream's order (Baseline checks by ID, then Restricted ones by ID), and the violations
// put together into the words of its messages.
import * as b from './checks-baseline.js';
import type { CheckFn, Violation } from './checks-baseline.js';
import * as r from './checks-restricted.js';
import type { Json } from './pod-view.js';
import { effectiveMinor, type LevelVersion } from './policy.js';

interface Check {
  id: string;
  level: 'baseline' | 'restricted';
  /** Oldest first: each applies from its minor version until the next one. */
  versions: { minor: number; check: CheckFn; overrides?: string[] }[];
}

const CHECKS: Check[] = [
  { id: 'appArmorProfile', level: 'baseline', versions: [{ minor: 0, check: b.appArmorProfile }] },
  { id: 'capabilities_baseline', level: 'baseline', versions: [{ minor: 0, check: b.capabilitiesBaseline }] },
  { id: 'hostNamespaces', level: 'baseline', versions: [{ minor: 0, check: b.hostNamespaces }] },
  { id: 'hostPathVolumes', level: 'baseline', versions: [{ minor: 0, check: b.hostPathVolumes }] },
  { id: 'hostPorts', level: 'baseline', versions: [{ minor: 0, check: b.hostPorts }] },
  { id: 'privileged', level: 'baseline', versions: [{ minor: 0, check: b.privileged }] },
  { id: 'procMount', level: 'baseline', versions: [{ minor: 0, check: b.procMount }] },
  {
    id: 'seLinuxOptions',
    level: 'baseline',
    versions: [
      { minor: 0, check: b.seLinuxOptions1_0 },
      { minor: 31, check: b.seLinuxOptions1_31 },
    ],
  },
  {
    id: 'seccompProfile_baseline',
    level: 'baseline',
    versions: [
      { minor: 0, check: b.seccompProfileBaseline1_0 },
      { minor: 19, check: b.seccompProfileBaseline1_19 },
    ],
  },
  {
    id: 'sysctls',
    level: 'baseline',
    versions: [
      { minor: 0, check: b.sysctls1_0 },
      { minor: 27, check: b.sysctls1_27 },
      { minor: 29, check: b.sysctls1_29 },
      { minor: 32, check: b.sysctls1_32 },
    ],
  },
  { id: 'windowsHostProcess', level: 'baseline', versions: [{ minor: 0, check: b.windowsHostProcess }] },
  {
    id: 'allowPrivilegeEscalation',
    level: 'restricted',
    versions: [
      { minor: 8, check: r.allowPrivilegeEscalation1_8 },
      { minor: 25, check: r.allowPrivilegeEscalation1_25 },
    ],
  },
  {
    id: 'capabilities_restricted',
    level: 'restricted',
    versions: [
      { minor: 22, check: r.capabilitiesRestricted1_22, overrides: ['capabilities_baseline'] },
      { minor: 25, check: r.capabilitiesRestricted1_25, overrides: ['capabilities_baseline'] },
    ],
  },
  { id: 'restrictedVolumes', level: 'restricted', versions: [{ minor: 0, check: r.restrictedVolumes, overrides: ['hostPathVolumes'] }] },
  { id: 'runAsNonRoot', level: 'restricted', versions: [{ minor: 0, check: r.runAsNonRoot }] },
  { id: 'runAsUser', level: 'restricted', versions: [{ minor: 23, check: r.runAsUser }] },
  {
    id: 'seccompProfile_restricted',
    level: 'restricted',
    versions: [
      { minor: 19, check: r.seccompProfileRestricted1_19, overrides: ['seccompProfile_baseline'] },
      { minor: 25, check: r.seccompProfileRestricted1_25, overrides: ['seccompProfile_baseline'] },
    ],
  },
];

const versionAt = (c: Check, minor: number) => c.versions.filter((v) => v.minor <= minor).at(-1);

/** What a level and version forbids in this pod, in upstream's order; empty when it is allowed. */
export function evaluatePod(lv: LevelVersion, meta: Json, spec: Json): Violation[] {
  if (lv.level === 'privileged') return [];
  const minor = effectiveMinor(lv);
  const applicable = CHECKS.filter((c) => c.level === 'baseline' || lv.level === 'restricted')
    .map((c) => ({ id: c.id, version: versionAt(c, minor) }))
    .filter((c) => c.version !== undefined);
  const overridden = new Set(applicable.flatMap((c) => c.version!.overrides ?? []));
  const out: Violation[] = [];
  for (const c of applicable) {
    if (overridden.has(c.id)) continue;
    const v = c.version!.check(meta, spec);
    if (v) out.push(v);
  }
  return out;
}

/** `reason (detail), reason, ...`: how a single pod's violations are told. */
export const forbiddenDetail = (vs: Violation[]) => vs.map((v) => (v.detail ? `${v.reason} (${v.detail})` : v.reason)).join(', ');
/** `reason, reason`: how a namespace's pods are summed up. */
export const forbiddenReason = (vs: Violation[]) => vs.map((v) => v.reason).join(', ');
