// Label and field selectors: the string forms clients send (`app=web,tier!=db,env in (a,b)`) and the
// LabelSelector objects in specs. Parsing failures are 400s naming the selector.
import type { LabelSelector } from 'kubernetes-types/meta/v1.js';
import { badRequest } from './errors.js';

export type Requirement =
  | { key: string; op: 'eq' | 'neq'; value: string }
  | { key: string; op: 'in' | 'notin'; values: string[] }
  | { key: string; op: 'exists' | 'notexists' };

export type Selector = Requirement[];

function matchesOne(r: Requirement, labels: Record<string, string>): boolean {
  const has = Object.hasOwn(labels, r.key);
  const v = labels[r.key];
  switch (r.op) {
    case 'eq':
      return has && v === r.value;
    case 'neq':
      return !has || v !== r.value;
    case 'in':
      return has && r.values.includes(v!);
    case 'notin':
      return !has || !r.values.includes(v!);
    case 'exists':
      return has;
    case 'notexists':
      return !has;
  }
}

export function matches(selector: Selector, labels: Record<string, string> | undefined): boolean {
  return selector.every((r) => matchesOne(r, labels ?? {}));
}

/** Splits on commas that are not inside parentheses. */
function splitTerms(text: string): string[] {
  const terms: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '(') depth++;
    else if (text[i] === ')') depth--;
    else if (text[i] === ',' && depth === 0) {
      terms.push(text.slice(start, i));
      start = i + 1;
    }
  }
  terms.push(text.slice(start));
  return terms.map((t) => t.trim()).filter((t) => t !== '');
}

const KEY = '[A-Za-z0-9][-A-Za-z0-9_./]*';
const VALUE = '[-A-Za-z0-9_.]*';

export function parseLabelSelector(text: string | undefined): Selector {
  if (!text) return [];
  return splitTerms(text).map((term) => {
    let m: RegExpMatchArray | null;
    if ((m = term.match(new RegExp(`^(${KEY})\\s*(==|=|!=)\\s*(${VALUE})$`)))) {
      return { key: m[1]!, op: m[2] === '!=' ? 'neq' : 'eq', value: m[3]! };
    }
    if ((m = term.match(new RegExp(`^(${KEY})\\s+(in|notin)\\s*\\(([^)]*)\\)$`)))) {
      const values = m[3]!
        .split(',')
        .map((v) => v.trim())
        .filter((v) => v !== '');
      return { key: m[1]!, op: m[2] as 'in' | 'notin', values };
    }
    if ((m = term.match(new RegExp(`^(!?)\\s*(${KEY})$`)))) return { key: m[2]!, op: m[1] ? 'notexists' : 'exists' };
    throw badRequest(`unable to parse requirement: invalid label selector "${text}": cannot parse "${term}"`);
  });
}

/** A LabelSelector from a spec. An empty selector matches everything; a missing one nothing. */
export function fromLabelSelector(sel: LabelSelector | undefined): Selector | undefined {
  if (!sel) return undefined;
  const reqs: Selector = Object.entries(sel.matchLabels ?? {}).map(([key, value]) => ({ key, op: 'eq' as const, value }));
  for (const e of sel.matchExpressions ?? []) {
    const op = { In: 'in', NotIn: 'notin', Exists: 'exists', DoesNotExist: 'notexists' }[e.operator];
    if (op === 'in' || op === 'notin') reqs.push({ key: e.key, op, values: e.values ?? [] });
    else if (op === 'exists' || op === 'notexists') reqs.push({ key: e.key, op });
  }
  return reqs;
}

/** The string form, as Kubernetes prints a selector: by key, values sorted (`app=web,tier in (a,b)`). */
export function selectorString(selector: Selector): string {
  return [...selector]
    .sort((x, y) => (x.key < y.key ? -1 : x.key > y.key ? 1 : 0))
    .map(requirementString)
    .join(',');
}

function requirementString(r: Requirement): string {
  switch (r.op) {
    case 'eq':
      return `${r.key}=${r.value}`;
    case 'neq':
      return `${r.key}!=${r.value}`;
    case 'in':
    case 'notin':
      return `${r.key} ${r.op} (${[...r.values].sort().join(',')})`;
    case 'exists':
      return r.key;
    case 'notexists':
      return `!${r.key}`;
  }
}

export interface FieldRequirement {
  field: string;
  op: 'eq' | 'neq';
  value: string;
}

export function parseFieldSelector(text: string | undefined, supported: (field: string) => boolean): FieldRequirement[] {
  if (!text) return [];
  return splitTerms(text).map((term) => {
    const m = term.match(/^([^=!]+?)\s*(==|=|!=)\s*(.*)$/);
    if (!m) throw badRequest(`invalid field selector "${text}": cannot parse "${term}"`);
    const field = m[1]!.trim();
    if (!supported(field)) throw badRequest(`field label not supported: ${field}`);
    return { field, op: m[2] === '!=' ? 'neq' : 'eq', value: m[3]!.replace(/\\(.)/g, '$1') };
  });
}

export function matchesFields(reqs: FieldRequirement[], fieldValue: (field: string) => string | undefined): boolean {
  return reqs.every((r) => ((fieldValue(r.field) ?? '') === r.value) === (r.op === 'eq'));
}
