// Building blocks for table columns: one line per column in the kind files.
import { humanDuration } from '../../printers/duration.js';
import type { LabelSelector } from 'kubernetes-types/meta/v1.js';
import type { KObject } from '../../../k8s/object.js';
import { fromLabelSelector, selectorString } from '../../../k8s/selectors.js';
import type { TableColumn } from '../types.js';

type Cell = ReturnType<TableColumn['cell']>;

/** AGE; a kind lists it among its columns when wide columns follow it, as kubectl shows them. */
export const age: TableColumn = {
  name: 'Age',
  type: 'string',
  description: 'CreationTimestamp is a timestamp representing the server time when this object was created.',
  priority: 0,
  cell: (obj, now) => since(obj.metadata?.creationTimestamp, now, '<unknown>'),
};

/**
 * A column shown by `kubectl get`; `wide` ones only with `-o wide`. The cell reads the kind's own type (Pod, Service, ...):
 * the registry calls it only with objects of the kind that lists it.
 */
export function col<T = KObject>(
  name: string,
  cell: (obj: T, now: Date) => Cell,
  opts: { type?: TableColumn['type']; wide?: boolean; description?: string } = {},
): TableColumn {
  return {
    name,
    type: opts.type ?? 'string',
    priority: opts.wide ? 1 : 0,
    description: opts.description ?? name,
    cell: cell as TableColumn['cell'],
  };
}

export const int = <T = KObject>(name: string, cell: (obj: T) => number | undefined, wide = false) =>
  col<T>(name, (o) => cell(o) ?? 0, { type: 'integer', wide });

/** "5m" since a timestamp, or `<none>` without one. */
export function since(ts: string | undefined | null, now: Date, none = '<none>'): string {
  return ts ? humanDuration(now.getTime() - Date.parse(ts)) : none;
}

export const orNone = (s: string | undefined | null) => (s ? s : '<none>');

export const joined = (items: (string | undefined)[] | undefined) => orNone((items ?? []).filter((s): s is string => !!s).join(','));

/** `app=web,tier=front`, as kubectl prints selectors and label maps. */
export function labelString(labels: Record<string, string> | undefined): string {
  const entries = Object.entries(labels ?? {});
  return entries.length === 0 ? '<none>' : entries.map(([k, v]) => `${k}=${v}`).join(',');
}

/** A LabelSelector the way `kubectl get -o wide` shows it: `app=web,tier in (a,b)`, or `<none>`. */
export function selectorColumn(sel: LabelSelector | undefined): string {
  return orNone(selectorString(fromLabelSelector(sel) ?? []));
}

interface PodTemplateLike {
  spec?: { template?: { spec?: { containers?: { name: string; image?: string }[] } }; selector?: LabelSelector };
}

/** The CONTAINERS, IMAGES and SELECTOR wide columns shared by the workload kinds. */
export function workloadWideColumns<T = PodTemplateLike>(
  template: (obj: T) => { containers?: { name: string; image?: string }[] } | undefined = (o) =>
    (o as PodTemplateLike).spec?.template?.spec,
  withSelector = true,
): TableColumn[] {
  const cols = [
    col('Containers', (o: T) => joined(template(o)?.containers?.map((c) => c.name)), { wide: true }),
    col('Images', (o: T) => joined(template(o)?.containers?.map((c) => c.image)), { wide: true }),
  ];
  if (withSelector) cols.push(col('Selector', (o: PodTemplateLike) => selectorColumn(o.spec?.selector), { wide: true }));
  return cols;
}

export const dataCount = (o: KObject) =>
  Object.keys((o.data as object | undefined) ?? {}).length + Object.keys((o.binaryData as object | undefined) ?? {}).length;
