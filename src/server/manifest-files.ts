// The pure half of the manifests deployer: which files of the directory count, what an Addon is
// called, how a file's text becomes objects, in which order they are applied and which objects an
// earlier version left behind. No I/O here, so each rule is unit-tested on its own.
import { createHash } from 'node:crypto';
import YAML from 'yaml';
import type { AddonObject } from '../api/registry/builtin/k3s.js';

export const MANIFEST_EXTENSIONS = ['.yaml', '.yml', '.json'];

/** A manifest object as read from a file: anything with apiVersion, kind and a name. */
export interface ManifestObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; [field: string]: unknown };
  [field: string]: unknown;
}

export interface FileSelection {
  /** Files to apply. */
  deploy: string[];
  /** Files a `<file>.skip` marker holds back: neither applied nor removed, their objects left as they are. */
  skipped: string[];
}

const extensionOf = (file: string) => MANIFEST_EXTENSIONS.find((ext) => file.endsWith(ext));

/** The Addon's name: the file name without its extension (K3s's rule), made a valid object name. */
export function addonName(file: string): string {
  const base = file.slice(0, file.length - (extensionOf(file)?.length ?? 0));
  return base
    .toLowerCase()
    .replace(/[^a-z0-9.-]+/g, '-')
    .replace(/^[^a-z0-9]+|[^a-z0-9]+$/g, '');
}

/**
 * Which of a directory's file names are deployed. Hidden files (editors' swap and backup files) are
 * not manifests. `--disable NAME` drops NAME.yaml (.yml, .json) as if it were gone, so what it
 * created is deleted (K3s deletes the file itself; Skiff leaves the user's file alone).
 */
export function selectFiles(names: string[], disabled: string[]): FileSelection {
  const present = new Set(names);
  const out: FileSelection = { deploy: [], skipped: [] };
  for (const name of [...names].sort()) {
    if (name.startsWith('.') || !extensionOf(name) || disabled.includes(addonName(name))) continue;
    (present.has(`${name}.skip`) ? out.skipped : out.deploy).push(name);
  }
  return out;
}

export const checksum = (content: string | Buffer) => createHash('sha256').update(content).digest('hex');

/** The objects of a manifest: every YAML document (JSON is YAML), `kind: *List` unwrapped as kubectl does. */
export function parseManifest(text: string): ManifestObject[] {
  const out: ManifestObject[] = [];
  for (const [i, doc] of YAML.parseAllDocuments(text).entries()) {
    const where = `document ${i + 1}`;
    if (doc.errors.length > 0) throw new Error(`${where}: ${doc.errors[0]!.message}`);
    const value: unknown = doc.toJS();
    if (value === null || value === undefined) continue;
    if (isObject(value) && Array.isArray(value.items) && String(value.kind).endsWith('List'))
      for (const [j, item] of value.items.entries()) out.push(checked(item, `${where} item ${j + 1}`));
    else out.push(checked(value, where));
  }
  return out;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function checked(value: unknown, where: string): ManifestObject {
  if (!isObject(value)) throw new Error(`${where}: not an object`);
  for (const field of ['apiVersion', 'kind'])
    if (typeof value[field] !== 'string' || !value[field]) throw new Error(`${where}: ${field} not set`);
  const meta = value.metadata;
  if (!isObject(meta) || typeof meta.name !== 'string' || !meta.name) throw new Error(`${where}: metadata.name not set`);
  return value as ManifestObject;
}

/** CRDs, then namespaces, then the rest (in file order): what later objects of the set may need. */
export function applyOrder(objects: ManifestObject[]): ManifestObject[] {
  const rank = (o: ManifestObject) => (o.kind === 'CustomResourceDefinition' ? 0 : o.kind === 'Namespace' ? 1 : 2);
  return [...objects].sort((a, b) => rank(a) - rank(b));
}

/** Identifies an object across versions of its group: a file moving it to another apiVersion keeps it. */
export const refKey = (r: AddonObject) => [r.apiVersion.split('/').slice(0, -1).join('/'), r.kind, r.namespace ?? '', r.name].join('/');

/** The objects in `previous` that `current` no longer has, each once. */
export function staleObjects(previous: AddonObject[], current: AddonObject[]): AddonObject[] {
  const keep = new Set(current.map(refKey));
  return [...new Map(previous.filter((r) => !keep.has(refKey(r))).map((r) => [refKey(r), r])).values()];
}

/** `a` and the objects of `b` it lacks. */
export function unionObjects(a: AddonObject[], b: AddonObject[]): AddonObject[] {
  return [...a, ...staleObjects(b, a)];
}
