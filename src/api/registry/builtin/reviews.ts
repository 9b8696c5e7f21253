// Review kinds: created to ask a question, answered at once, never stored.
import type { ResourceDef } from '../types.js';

const review = (group: string, kind: string, plural: string, namespaced = false): ResourceDef => ({
  group,
  version: 'v1',
  kind,
  plural,
  singular: plural.replace(/s$/, ''),
  namespaced,
  verbs: ['create'],
  virtual: true,
  schemaName: `io.k8s.api.${group.split('.')[0]}.v1.${kind}`,
});

export const reviewResources: ResourceDef[] = [
  review('authentication.k8s.io', 'TokenReview', 'tokenreviews'),
  review('authentication.k8s.io', 'SelfSubjectReview', 'selfsubjectreviews'),
  review('authorization.k8s.io', 'SelfSubjectAccessReview', 'selfsubjectaccessreviews'),
  review('authorization.k8s.io', 'SelfSubjectRulesReview', 'selfsubjectrulesreviews'),
  review('authorization.k8s.io', 'SubjectAccessReview', 'subjectaccessreviews'),
  review('authorization.k8s.io', 'LocalSubjectAccessReview', 'localsubjectaccessreviews', true),
];
