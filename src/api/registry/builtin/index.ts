// Every kind Skiff serves out of the box.
import type { ResourceDef } from '../types.js';
import { apiregistrationResources } from './apiregistration.js';
import { appsResources } from './apps.js';
import { batchResources } from './batch.js';
import { certificatesResources } from './certificates.js';
import { coreResources } from './core.js';
import { k3sResources } from './k3s.js';
import { miscResources } from './misc.js';
import { networkingResources } from './networking.js';
import { rbacResources } from './rbac.js';
import { reviewResources } from './reviews.js';

export function builtinResources(): ResourceDef[] {
  return [
    ...coreResources,
    ...appsResources,
    ...batchResources,
    ...networkingResources,
    ...rbacResources,
    ...certificatesResources,
    ...miscResources,
    ...apiregistrationResources,
    ...reviewResources,
    ...k3sResources,
  ];
}
