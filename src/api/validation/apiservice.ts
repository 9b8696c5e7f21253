// APIService validation as kube-aggregator's: the name is version.group, priorities within their
// ranges, and local APIServices (no service) carry no TLS settings.
import type { APIService } from '../apiservices/types.js';
import type { FieldError } from '../../k8s/errors.js';
import { check, dns1035Label, dns1123Subdomain, invalidValue, notSupported, required } from './names.js';

export function validateAPIService(svc: APIService): FieldError[] {
  const spec = svc.spec ?? {};
  const errors: FieldError[] = [];
  const wanted = `${spec.version ?? ''}.${spec.group ?? ''}`;
  const name = svc.metadata?.name;
  if (name && name !== wanted)
    errors.push(invalidValue('metadata.name', name, `must be \`spec.version+"."+spec.group\`: ${JSON.stringify(wanted)}`));
  if (!spec.group && spec.version !== 'v1')
    errors.push(required('spec.group', 'only v1 may have an empty group and it better be legacy kube'));
  if (spec.group) errors.push(...check('spec.group', spec.group, dns1123Subdomain));
  errors.push(...check('spec.version', spec.version ?? '', dns1035Label));
  const gpm = spec.groupPriorityMinimum ?? 0;
  if (gpm <= 0 || gpm > 20000) errors.push(invalidValue('spec.groupPriorityMinimum', gpm, 'must be positive and less than 20000'));
  const vp = spec.versionPriority ?? 0;
  if (vp <= 0 || vp > 1000) errors.push(invalidValue('spec.versionPriority', vp, 'must be positive and less than 1000'));
  if (!spec.service) {
    if (spec.caBundle)
      errors.push(
        invalidValue('spec.caBundle', `${Buffer.from(spec.caBundle, 'base64').length} bytes`, 'local APIServices may not have a caBundle'),
      );
    if (spec.insecureSkipTLSVerify)
      errors.push(invalidValue('spec.insecureSkipTLSVerify', true, 'local APIServices may not have insecureSkipTLSVerify'));
  } else {
    if (!spec.service.namespace) errors.push(required('spec.service.namespace'));
    if (!spec.service.name) errors.push(required('spec.service.name'));
    const port = spec.service.port;
    if (port !== undefined && (!Number.isInteger(port) || port < 1 || port > 65535))
      errors.push(invalidValue('spec.service.port', port, 'must be between 1 and 65535, inclusive'));
    if (spec.insecureSkipTLSVerify && spec.caBundle)
      errors.push(invalidValue('spec.insecureSkipTLSVerify', true, 'may not be true if caBundle is present'));
  }
  for (const [i, c] of (svc.status?.conditions ?? []).entries()) {
    if (!['True', 'False', 'Unknown'].includes(c.status))
      errors.push(notSupported(`status.conditions[${i}].status`, c.status, ['True', 'False', 'Unknown']));
  }
  return errors;
}
