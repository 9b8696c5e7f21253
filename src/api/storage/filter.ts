// Which stored objects a list or watch request wants: label and field selectors.
import { badRequest } from '../../k8s/errors.js';
import type { KObject } from '../../k8s/object.js';
import type { ResourceDef } from '../registry/types.js';
import { matches, matchesFields, parseFieldSelector, parseLabelSelector } from '../../k8s/selectors.js';

export interface ListQuery {
  labelSelector?: string;
  fieldSelector?: string;
  limit?: number;
  continue?: string;
  resourceVersion?: string;
  resourceVersionMatch?: 'Exact' | 'NotOlderThan';
}

export function fieldValue(def: ResourceDef, obj: KObject, field: string): string | undefined {
  if (field === 'metadata.name') return obj.metadata?.name;
  if (field === 'metadata.namespace') return def.namespaced ? obj.metadata?.namespace : undefined;
  return def.selectableFields?.[field]?.(obj);
}

export function objectFilter(def: ResourceDef, q: Pick<ListQuery, 'labelSelector' | 'fieldSelector'>): (obj: KObject) => boolean {
  const labels = parseLabelSelector(q.labelSelector);
  const supported = (f: string) => f === 'metadata.name' || f === 'metadata.namespace' || !!def.selectableFields?.[f];
  const fields = parseFieldSelector(q.fieldSelector, supported);
  if (labels.length === 0 && fields.length === 0) return () => true;
  return (obj) => matches(labels, obj.metadata?.labels) && matchesFields(fields, (f) => fieldValue(def, obj, f));
}

export function parseLimit(text: string | undefined): number | undefined {
  if (text === undefined || text === '') return undefined;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0) throw badRequest(`invalid limit "${text}": must be a non-negative integer`);
  return n || undefined;
}
