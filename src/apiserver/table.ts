// Server-side Table output (`kubectl get`): NAME, the kind's columns, AGE; rows carry metadata so
// kubectl can show the NAMESPACE column, labels and -L columns.
import type { KObject, StoredObject } from '../k8s/object.js';
import type { ResourceDef, TableColumn } from '../api/registry/types.js';
import { age } from '../api/registry/builtin/columns.js';

const nameColumn: TableColumn = {
  name: 'Name',
  type: 'string',
  format: 'name',
  description: 'Name must be unique within a namespace.',
  priority: 0,
  cell: (obj) => obj.metadata?.name ?? '',
};

const createdAtColumn: TableColumn = {
  name: 'Created At',
  type: 'date',
  description: 'CreationTimestamp is a timestamp representing the server time when this object was created.',
  priority: 0,
  cell: (obj) => obj.metadata?.creationTimestamp ?? '',
};

export function columnsOf(def: ResourceDef): TableColumn[] {
  if (!def.columns) return [nameColumn, createdAtColumn];
  const withAge = def.noAge || def.columns.includes(age) ? def.columns : [...def.columns, age];
  return def.noName ? withAge : [nameColumn, ...withAge];
}

export function partialMetadata(obj: KObject): KObject {
  return { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: obj.metadata };
}

export interface TableOptions {
  resourceVersion?: string;
  continue?: string;
  includeObject?: string | null;
  /** Leave out columnDefinitions (later watch events). */
  rowsOnly?: boolean;
}

export function toTable(def: ResourceDef, objects: StoredObject[], opts: TableOptions = {}, now = new Date()): KObject {
  const columns = columnsOf(def);
  const include = opts.includeObject ?? 'Metadata';
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: { resourceVersion: opts.resourceVersion, ...(opts.continue ? { continue: opts.continue } : {}) },
    columnDefinitions: opts.rowsOnly
      ? []
      : columns.map((c) => ({ name: c.name, type: c.type, format: c.format ?? '', description: c.description, priority: c.priority })),
    rows: objects.map((obj) => ({
      cells: columns.map((c) => c.cell(obj, now)),
      ...(include === 'None' ? {} : { object: include === 'Object' ? obj : partialMetadata(obj) }),
    })),
  };
}
