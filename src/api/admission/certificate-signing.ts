// CertificateSigningRequests as upstream's registry strategies keep them: on create the requester's
// identity (spec.username, uid, groups, extra) is the API server's to fill in, never the client's,
// and the status starts empty; through /approval only the Approved and Denied conditions change;
// through /status everything but them (a signer's certificate, a Failed condition). New conditions
// get their timestamps.
import type { CertificateSigningRequest, CertificateSigningRequestCondition } from 'kubernetes-types/certificates/v1.js';
import type { Writable } from '../../k8s/object.js';
import { nowTimestamp } from '../../k8s/time.js';
import type { AdmissionPlugin } from './plugin.js';

type Csr = Writable<CertificateSigningRequest>;
type Condition = Writable<CertificateSigningRequestCondition>;

const isApproval = (c: Condition) => c.type === 'Approved' || c.type === 'Denied';

/** Times on conditions that lack them, keeping those of conditions that did not change. */
function stamp(conditions: Condition[], old: Condition[]): Condition[] {
  const now = nowTimestamp();
  return conditions.map((c) => {
    const before = old.find((o) => o.type === c.type);
    const lastUpdateTime = c.lastUpdateTime ?? now;
    const lastTransitionTime =
      c.lastTransitionTime ?? (before && before.status === c.status ? before.lastTransitionTime : undefined) ?? now;
    return { ...c, lastUpdateTime, lastTransitionTime };
  });
}

export function certificateSigningAdmission(): AdmissionPlugin {
  return {
    group: 'certificates.k8s.io',
    resource: 'certificatesigningrequests',
    async admit(_def, obj, old, ctx) {
      const csr = obj as Csr;
      if (!old) {
        if (ctx.user) {
          const { username, uid, groups, extra } = ctx.user;
          csr.spec = { ...csr.spec!, username, groups };
          if (uid) csr.spec.uid = uid;
          else delete csr.spec.uid;
          if (extra && Object.keys(extra).length) csr.spec.extra = extra;
          else delete csr.spec.extra;
        }
        delete csr.status;
        return;
      }
      const before = (old as unknown as Csr).status ?? {};
      const oldConditions = (before.conditions ?? []) as Condition[];
      const conditions = (csr.status?.conditions ?? []) as Condition[];
      if (ctx.subresource === 'approval') {
        // Only the verdict changes: the certificate and the signer's conditions stay as they were.
        const next = [...oldConditions.filter((c) => !isApproval(c)), ...conditions.filter(isApproval)];
        csr.status = { ...before, conditions: stamp(next, oldConditions) };
      } else if (ctx.subresource === 'status') {
        const next = [...oldConditions.filter(isApproval), ...conditions.filter((c) => !isApproval(c))];
        csr.status = { ...csr.status, conditions: stamp(next, oldConditions) };
      }
      if (!csr.status?.conditions?.length && csr.status) delete csr.status.conditions;
    },
  };
}
