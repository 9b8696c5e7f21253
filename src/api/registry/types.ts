// What the API knows about one kind. Adding a kind is adding one of these, never a new handler.
import type { FieldError } from '../../k8s/errors.js';
import type { KObject } from '../../k8s/object.js';
import type { SchemaNode } from '../schema/types.js';

export type Verb = 'create' | 'delete' | 'deletecollection' | 'get' | 'list' | 'patch' | 'update' | 'watch';

export const allVerbs: readonly Verb[] = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

export interface TableColumn {
  name: string;
  type: 'string' | 'integer' | 'number' | 'boolean' | 'date';
  /** 'name' for the NAME column; otherwise empty. */
  format?: string;
  description: string;
  /** 0: always shown; 1: only with -o wide. */
  priority: number;
  /** The cell value for an object; `now` lets AGE-like columns be computed and tested. */
  cell: (obj: KObject, now: Date) => string | number | boolean | null;
}

/** The value a field selector compares for an object, such as a pod's `spec.nodeName`. */
export type FieldValue = (obj: KObject) => string | undefined;

/** Field values written against the kind's own type (Pod, Service, ...): the registry reads them only from objects of that kind. */
export function fieldsOf<T>(fields: Record<string, (obj: T) => string | undefined>): Record<string, FieldValue> {
  return fields as Record<string, FieldValue>;
}

export interface ScaleSubresource {
  /** Dotted paths, as in a CRD's scale subresource: `.spec.replicas`. */
  specReplicasPath: string;
  statusReplicasPath: string;
  labelSelectorPath?: string;
}

export interface ResourceDef {
  group: string; // '' for the core group
  version: string;
  kind: string;
  plural: string;
  singular: string;
  namespaced: boolean;
  shortNames?: string[];
  categories?: string[];
  /** Default: all verbs. */
  verbs?: readonly Verb[];
  /** The /status subresource exists and the main endpoint ignores status changes. */
  statusSubresource?: boolean;
  scale?: ScaleSubresource;
  /** Subresources served by special handlers (pods/log, pods/exec, serviceaccounts/token, ...). */
  extraSubresources?: { name: string; kind: string; group?: string; version?: string; verbs: readonly string[] }[];
  /** Field selector fields beyond metadata.name and metadata.namespace. */
  selectableFields?: Record<string, FieldValue>;
  /** Table columns after NAME (implicit unless `noName`); AGE is appended unless listed or `noAge`. */
  columns?: TableColumn[];
  noAge?: boolean;
  noName?: boolean;
  /** Fill in defaults, in place, as Kubernetes does on create and update. */
  defaults?: (obj: KObject) => void;
  /** Field errors for an object about to be stored (`old` on update). */
  validate?: (obj: KObject, old?: KObject) => FieldError[];
  /** The OpenAPI definition name, e.g. `io.k8s.api.apps.v1.Deployment`. */
  schemaName?: string;
  /** A custom kind's structural schema, from its CRD (built-in kinds use `schemaName`). */
  schema?: SchemaNode;
  /** Key prefix under /registry; default `plural` for built-in kinds, `group/plural` for custom ones. */
  storagePrefix?: string;
  /** Custom resources come and go with their CRD. */
  custom?: boolean;
  /** Objects expire this long after their last write (Events: one hour, kube-apiserver's --event-ttl). */
  ttlSeconds?: number;
  /** Kinds that are not stored, only created (reviews, token requests). */
  virtual?: boolean;
  /** How a DELETE of this kind proceeds beyond metadata finalizers (pods, namespaces). */
  deletion?: DeletionRules;
}

/** What makes a kind's deletion wait before the object is removed. */
export interface DeletionRules {
  /** Seconds the object is given to stop (a pod running on a node); 0 removes it at once. */
  gracePeriodSeconds?(obj: KObject, requested: number | undefined): number;
  /** Finalizers the kind keeps in its spec (a namespace's `spec.finalizers`), emptied before it goes. */
  specFinalizers?(obj: KObject): string[];
  /** The status shown while the object waits to be removed (a namespace's phase Terminating). */
  terminatingStatus?(obj: KObject): Record<string, unknown>;
}
