// CustomResourceDefinition rules: the name is <plural>.<group>, names and scope are complete, and
// exactly one served version is the storage version.
import type { CustomResourceDefinition } from 'kubernetes-types/apiextensions/v1.js';
import type { FieldError } from '../../k8s/errors.js';
import { check, dns1035Label, dns1123Subdomain, invalidValue, notSupported, required } from './names.js';

export function validateCrd(crd: CustomResourceDefinition, old?: CustomResourceDefinition): FieldError[] {
  const spec = crd.spec;
  if (!spec) return [required('spec')];
  const errors: FieldError[] = [];
  const { group, names, scope, versions } = spec;
  if (!group) errors.push(required('spec.group'));
  else {
    errors.push(...check('spec.group', group, dns1123Subdomain));
    if (!group.includes('.')) errors.push(invalidValue('spec.group', group, 'should be a domain with at least one dot'));
  }
  if (!names?.plural) errors.push(required('spec.names.plural'));
  else errors.push(...check('spec.names.plural', names.plural, dns1035Label));
  if (!names?.kind) errors.push(required('spec.names.kind'));
  if (names?.singular) errors.push(...check('spec.names.singular', names.singular, dns1035Label));
  if (names?.plural && group && crd.metadata?.name !== `${names.plural}.${group}`) {
    errors.push(invalidValue('metadata.name', crd.metadata?.name ?? '', 'must be spec.names.plural+"."+spec.group'));
  }
  if (scope !== 'Namespaced' && scope !== 'Cluster') errors.push(notSupported('spec.scope', scope ?? '', ['Cluster', 'Namespaced']));
  if (!versions || versions.length === 0) errors.push(required('spec.versions', 'must have exactly one version marked as storage version'));
  else if (versions.filter((v) => v.storage).length !== 1)
    errors.push(
      invalidValue(
        'spec.versions',
        versions.map((v) => v.name),
        'must have exactly one version marked as storage version',
      ),
    );
  for (const [i, v] of (versions ?? []).entries()) {
    if (!v.schema?.openAPIV3Schema) errors.push(required(`spec.versions[${i}].schema.openAPIV3Schema`, 'schemas are required'));
  }
  if (old && old.spec?.scope !== scope) errors.push(invalidValue('spec.scope', scope, 'field is immutable'));
  return errors;
}
