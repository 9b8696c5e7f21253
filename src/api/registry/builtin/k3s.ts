// k3s.cattle.io/v1: the Addon record the manifests deployer (src/server/manifests.ts) keeps per file of
// <data-dir>/server/manifests. Served under K3s's own group and shape, not a Skiff one, so that
// K3s tooling and habits (`kubectl get addons -A`, scripts reading spec.checksum) work unchanged.
// Built in rather than a CRD created at start: it is there before the first file is read, and a user
// cannot delete the kind from under the deployer.
import { withMeta } from '../../validation/object-meta.js';
import type { SchemaNode } from '../../schema/types.js';
import type { ResourceDef } from '../types.js';
import { col } from './columns.js';

// A type alias, not an interface, so that it passes as a KubeObject (events are recorded on it).
export type Addon = {
  apiVersion?: string;
  kind?: string;
  metadata?: import('kubernetes-types/meta/v1.js').ObjectMeta;
  spec?: { source?: string; checksum?: string };
  status?: AddonStatus;
};

/** What the deployer last did with the file (K3s keeps this in events only). */
export interface AddonStatus {
  /** The checksum of the file version last applied completely. */
  appliedChecksum?: string;
  /** Every object the file's versions applied and that is still its own: what removing the file deletes. */
  objects?: AddonObject[];
  conditions?: { type: string; status: string; reason?: string; message?: string; lastTransitionTime?: string }[];
}

export interface AddonObject {
  apiVersion: string;
  kind: string;
  namespace?: string;
  name: string;
}

const string: SchemaNode = { type: 'string' };
const schema: SchemaNode = {
  type: 'object',
  description: 'An auto-deployed manifest file of <data-dir>/server/manifests, as K3s records it.',
  properties: {
    apiVersion: string,
    kind: string,
    metadata: { $ref: '#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta' },
    spec: {
      type: 'object',
      properties: {
        source: { type: 'string', description: 'The path of the manifest file.' },
        checksum: { type: 'string', description: 'The sha256 of the file as last read.' },
      },
    },
    status: {
      type: 'object',
      properties: {
        appliedChecksum: string,
        objects: {
          type: 'array',
          'x-kubernetes-list-type': 'atomic',
          items: { type: 'object', properties: { apiVersion: string, kind: string, namespace: string, name: string } },
        },
        conditions: {
          type: 'array',
          'x-kubernetes-list-type': 'map',
          'x-kubernetes-list-map-keys': ['type'],
          items: {
            type: 'object',
            required: ['type', 'status'],
            properties: { type: string, status: string, reason: string, message: string, lastTransitionTime: string },
          },
        },
      },
    },
  },
};

export const k3sResources: ResourceDef[] = [
  {
    group: 'k3s.cattle.io',
    version: 'v1',
    kind: 'Addon',
    plural: 'addons',
    singular: 'addon',
    namespaced: true,
    schema,
    // K3s's printer columns for its Addon CRD.
    columns: [col('Source', (a: Addon) => a.spec?.source ?? ''), col('Checksum', (a: Addon) => a.spec?.checksum ?? '')],
    validate: withMeta('addons'),
  },
];
