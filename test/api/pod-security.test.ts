// Pod Security's checks as pure functions: each level and version, upstream's reasons and details.
import t from 'tap';
import { evaluatePod, forbiddenDetail, forbiddenReason } from '../../src/api/admission/pod-security/evaluate.js';
import { policyFromLabels } from '../../src/api/admission/pod-security/policy.js';

const latest = (level: 'privileged' | 'baseline' | 'restricted') => ({ level });
const detail = (level: 'privileged' | 'baseline' | 'restricted', spec: object, meta: object = {}, minor?: number) =>
  forbiddenDetail(evaluatePod({ level, minor }, meta as any, spec as any));

const restrictedOk = {
  securityContext: { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } },
  containers: [{ name: 'c', image: 'x', securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } } }],
};

t.test('privileged allows anything', async (t) => {
  t.same(
    evaluatePod(latest('privileged'), {}, { hostNetwork: true, containers: [{ name: 'c', securityContext: { privileged: true } }] }),
    [],
  );
});

t.test('restricted: a plain pod gets the four violations, in upstream order and words', async (t) => {
  t.equal(
    detail('restricted', { containers: [{ name: 'c', image: 'x' }] }),
    'allowPrivilegeEscalation != false (container "c" must set securityContext.allowPrivilegeEscalation=false), ' +
      'unrestricted capabilities (container "c" must set securityContext.capabilities.drop=["ALL"]), ' +
      'runAsNonRoot != true (pod or container "c" must set securityContext.runAsNonRoot=true), ' +
      'seccompProfile (pod or container "c" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")',
  );
  t.same(evaluatePod(latest('restricted'), {}, restrictedOk as any), [], 'a compliant pod passes');
  t.same(evaluatePod(latest('baseline'), {}, { containers: [{ name: 'c', image: 'x' }] } as any), [], 'baseline allows a plain pod');
});

t.test('baseline checks', async (t) => {
  const c = (securityContext: object, extra: object = {}) => ({ containers: [{ name: 'c', securityContext, ...extra }] });
  t.equal(
    detail('baseline', { hostNetwork: true, hostPID: true, hostIPC: true, containers: [] }),
    'host namespaces (hostIPC, hostNetwork, hostPID)',
  );
  t.equal(detail('baseline', c({ privileged: true })), 'privileged (container "c" must not set securityContext.privileged=true)');
  t.equal(
    detail('baseline', c({ capabilities: { add: ['NET_RAW', 'SYS_ADMIN', 'CHOWN'] } })),
    'non-default capabilities (container "c" must not include "NET_RAW", "SYS_ADMIN" in securityContext.capabilities.add)',
  );
  t.equal(
    detail('baseline', {
      containers: [
        {
          name: 'a',
          ports: [
            { containerPort: 80, hostPort: 8080 },
            { containerPort: 1, hostPort: 80 },
          ],
        },
      ],
    }),
    'hostPort (container "a" uses hostPorts 80, 8080)',
  );
  t.equal(
    detail('baseline', {
      containers: [],
      volumes: [
        { name: 'h', hostPath: { path: '/' } },
        { name: 'e', emptyDir: {} },
      ],
    }),
    'hostPath volumes (volume "h")',
  );
  t.equal(
    detail('baseline', c({ procMount: 'Unmasked' })),
    'procMount (container "c" must not set securityContext.procMount to "Unmasked")',
  );
  t.equal(
    detail('baseline', { securityContext: { seLinuxOptions: { type: 'spc_t', user: 'u' } }, containers: [] }),
    'seLinuxOptions (pod set forbidden securityContext.seLinuxOptions: type "spc_t"; user may not be set)',
  );
  t.equal(detail('baseline', c({ seLinuxOptions: { type: 'container_engine_t' } })), '', 'container_engine_t is allowed from v1.31');
  t.match(detail('baseline', c({ seLinuxOptions: { type: 'container_engine_t' } }), {}, 30), /types? "container_engine_t"/);
  t.equal(
    detail('baseline', { securityContext: { seccompProfile: { type: 'Unconfined' } }, containers: [] }),
    'seccompProfile (pod must not set securityContext.seccompProfile.type to "Unconfined")',
  );
  t.equal(
    detail('baseline', {
      securityContext: { sysctls: [{ name: 'kernel.msgmax' }, { name: 'net.ipv4.tcp_rmem' }, { name: 'a.b' }] },
      containers: [],
    }),
    'forbidden sysctls (kernel.msgmax, a.b)',
  );
  t.equal(
    detail('baseline', { securityContext: { sysctls: [{ name: 'net.ipv4.tcp_rmem' }] }, containers: [] }, {}, 31),
    'forbidden sysctls (net.ipv4.tcp_rmem)',
    'tcp_rmem only from v1.32',
  );
  t.equal(
    detail('baseline', c({ windowsOptions: { hostProcess: true } })),
    'hostProcess (container "c" must not set securityContext.windowsOptions.hostProcess=true)',
  );
  t.equal(
    detail('baseline', c({ appArmorProfile: { type: 'Unconfined' } })),
    'forbidden AppArmor profile (container "c" must not set AppArmor profile type to "Unconfined")',
  );
  t.equal(
    detail('baseline', { containers: [] }, { annotations: { 'container.apparmor.security.beta.kubernetes.io/c': 'unconfined' } }),
    'forbidden AppArmor profile (annotation must not set AppArmor profile type to ' +
      '"container.apparmor.security.beta.kubernetes.io/c="unconfined"")',
  );
  t.equal(
    detail('baseline', { containers: [{ name: 'c' }] }, { annotations: { 'seccomp.security.alpha.kubernetes.io/pod': 'unconfined' } }, 18),
    'seccompProfile (forbidden annotation seccomp.security.alpha.kubernetes.io/pod="unconfined")',
    'before v1.19 seccomp is read from annotations',
  );
});

t.test('restricted checks and their versions', async (t) => {
  const spec = (over: object) => ({ ...restrictedOk, containers: [{ ...restrictedOk.containers[0], ...over }] });
  t.equal(
    detail('restricted', {
      ...restrictedOk,
      volumes: [
        { name: 'n', nfs: {} },
        { name: 'h', hostPath: {} },
        { name: 's', secret: {} },
      ],
    }),
    'restricted volume types (volumes "n", "h" use restricted volume types "hostPath", "nfs")',
    'restrictedVolumes replaces hostPathVolumes',
  );
  t.equal(
    detail('restricted', spec({ securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'], add: ['NET_RAW'] } } })),
    'unrestricted capabilities (container "c" must not include "NET_RAW" in securityContext.capabilities.add)',
    'capabilities_restricted replaces capabilities_baseline',
  );
  t.equal(
    detail('restricted', { ...restrictedOk, securityContext: { ...restrictedOk.securityContext, runAsUser: 0 } }),
    'runAsUser=0 (pod must not set runAsUser=0)',
  );
  t.equal(
    detail('restricted', { ...restrictedOk, securityContext: { ...restrictedOk.securityContext, runAsUser: 0 } }, {}, 22),
    '',
    'runAsUser only from v1.23',
  );
  t.equal(
    detail(
      'restricted',
      spec({ securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] }, runAsNonRoot: false } }),
    ),
    'runAsNonRoot != true (container "c" must not set securityContext.runAsNonRoot=false)',
  );
  t.equal(
    detail('restricted', spec({ securityContext: { capabilities: { add: ['NET_RAW'] } } }), {}, 21),
    'non-default capabilities (container "c" must not include "NET_RAW" in securityContext.capabilities.add), ' +
      'allowPrivilegeEscalation != false (container "c" must set securityContext.allowPrivilegeEscalation=false)',
    'before v1.22 restricted keeps the baseline capability check (baseline checks come first)',
  );
  const windows = { os: { name: 'windows' }, securityContext: { runAsNonRoot: true }, containers: [{ name: 'w' }] };
  t.equal(detail('restricted', windows), '', 'Windows pods need no Linux-only fields from v1.25');
  t.match(detail('restricted', windows, {}, 24), /allowPrivilegeEscalation/);
  t.equal(
    detail('restricted', {
      ...restrictedOk,
      initContainers: [{ name: 'i' }],
      ephemeralContainers: [{ name: 'e', securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } } }],
    }),
    'allowPrivilegeEscalation != false (container "i" must set securityContext.allowPrivilegeEscalation=false), ' +
      'unrestricted capabilities (container "i" must set securityContext.capabilities.drop=["ALL"])',
    'init and ephemeral containers are checked too',
  );
  t.equal(forbiddenReason(evaluatePod(latest('restricted'), {}, { containers: [{ name: 'c' }] } as any)).split(', ').length, 4);
});

t.test('checks never throw on garbage', async (t) => {
  const junk: unknown[] = [
    null,
    1,
    'x',
    [],
    { containers: 'x' },
    { containers: [null, 1, { securityContext: 'x' }] },
    { volumes: [1, null] },
  ];
  for (const spec of junk)
    for (const level of ['baseline', 'restricted'] as const)
      t.doesNotThrow(() => evaluatePod({ level }, { annotations: 'x' } as any, (spec ?? {}) as any), JSON.stringify(spec));
});

t.test('namespace labels: levels, versions, and upstream errors', async (t) => {
  const p = policyFromLabels({
    'pod-security.kubernetes.io/enforce': 'baseline',
    'pod-security.kubernetes.io/enforce-version': 'v1.24',
    'pod-security.kubernetes.io/warn': 'restricted',
  });
  t.same(p.policy, { enforce: { level: 'baseline', minor: 24 }, audit: { level: 'privileged' }, warn: { level: 'restricted' } });
  t.same(p.errors, []);
  const bad = policyFromLabels({
    'pod-security.kubernetes.io/enforce': 'strict',
    'pod-security.kubernetes.io/warn': 'nope',
    'pod-security.kubernetes.io/audit-version': '1.25',
  });
  t.equal(bad.policy.enforce.level, 'restricted', 'enforce fails closed');
  t.equal(bad.policy.warn.level, 'privileged', 'warn fails open');
  t.same(
    bad.errors.map((e) => `${e.field}: ${e.detail}`),
    [
      'metadata.labels[pod-security.kubernetes.io/enforce]: Invalid value: "strict": must be one of privileged, baseline, restricted',
      'metadata.labels[pod-security.kubernetes.io/audit-version]: Invalid value: "1.25": must be "latest" or "v1.x"',
      'metadata.labels[pod-security.kubernetes.io/warn]: Invalid value: "nope": must be one of privileged, baseline, restricted',
    ],
  );
});
