// apiregistration.k8s.io/v1: APIServices, one per served group/version (see src/api/apiservices).
import type { APIService } from '../../apiservices/types.js';
import { validateAPIService } from '../../validation/apiservice.js';
import { withMeta } from '../../validation/object-meta.js';
import type { KObject } from '../../../k8s/object.js';
import type { ResourceDef } from '../types.js';
import { col } from './columns.js';

/** As kube-aggregator's table: True, or the status with its reason ("False (ServiceNotFound)"). */
function available(s: APIService): string {
  const c = s.status?.conditions?.find((x) => x.type === 'Available');
  if (!c) return 'Unknown';
  return c.status !== 'True' && c.reason ? `${c.status} (${c.reason})` : c.status;
}

export const apiregistrationResources: ResourceDef[] = [
  {
    group: 'apiregistration.k8s.io',
    version: 'v1',
    kind: 'APIService',
    plural: 'apiservices',
    singular: 'apiservice',
    namespaced: false,
    categories: ['api-extensions'],
    statusSubresource: true,
    schemaName: 'io.k8s.kube-aggregator.pkg.apis.apiregistration.v1.APIService',
    columns: [
      col('Service', (s: APIService) => (s.spec?.service ? `${s.spec.service.namespace}/${s.spec.service.name}` : 'Local'), {
        description: 'The reference to the service that hosts this API endpoint.',
      }),
      col('Available', available, { description: 'Whether this service is available.' }),
    ],
    defaults: (obj: KObject) => {
      const service = (obj as APIService).spec?.service;
      if (service) service.port ??= 443;
    },
    validate: withMeta('apiservices', validateAPIService),
  },
];
