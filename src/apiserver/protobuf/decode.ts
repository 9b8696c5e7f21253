// A table-driven decoder from Kubernetes' protobuf encoding to the object's JSON form. The table
// (messages.json: field number -> name and type, per message) is extracted from kubectl by
// scripts/extract-k8s-proto.mjs; protobufjs reads the wire format.
import protobuf from 'protobufjs/minimal.js';
import { badRequest } from '../../k8s/errors.js';
import { definitions } from '../../api/openapi/schemas.js';
import messagesJson from './messages.json' with { type: 'json' };
import { isPointerField } from './pointer-fields.js';

type Field = [name: string, type: string, ...rest: string[]];
const messages = messagesJson as unknown as Record<string, Record<string, Field>>;

const META = 'k8s.io.apimachinery.pkg.apis.meta.v1';
const SCALARS = new Set(['string', 'bytes', 'int32', 'int64', 'uint32', 'uint64', 'sint32', 'sint64', 'bool', 'double', 'float']);

function rfc3339(seconds: number, nanos: number, micro: boolean): string {
  const iso = new Date(seconds * 1000).toISOString().replace(/\.\d{3}Z$/, '');
  return micro ? `${iso}.${String(Math.floor(nanos / 1000)).padStart(6, '0')}Z` : `${iso}Z`;
}

/** Go's time.Duration text: 1h0m0s, 1m30s, 500ms. */
function goDuration(ns: number): string {
  if (ns === 0) return '0s';
  const sign = ns < 0 ? '-' : '';
  let n = Math.abs(ns);
  if (n < 1e9) return sign + (n < 1e3 ? `${n}ns` : n < 1e6 ? `${n / 1e3}µs` : `${n / 1e6}ms`);
  const h = Math.floor(n / 3.6e12);
  n -= h * 3.6e12;
  const m = Math.floor(n / 6e10);
  n -= m * 6e10;
  const s = n / 1e9;
  return `${sign}${h ? `${h}h` : ''}${h || m ? `${m}m` : ''}${s}s`;
}

function readScalar(r: protobuf.Reader, type: string): unknown {
  switch (type) {
    case 'string':
      return r.string();
    case 'bytes':
      return Buffer.from(r.bytes()).toString('base64');
    case 'bool':
      return r.bool();
    case 'double':
      return r.double();
    case 'float':
      return r.float();
    case 'int32':
      return r.int32();
    case 'uint32':
      return r.uint32();
    case 'sint32':
      return r.sint32();
    default:
      return Number(r[type as 'int64' | 'uint64' | 'sint64']().toString());
  }
}

const isZero = (v: unknown) => v === '' || v === 0 || v === false || v === null;

const schemaOf = (message: string) => definitions[message.replace(/^k8s\.io\./, 'io.k8s.')];

/** Optional fields per the object's schema: only those may be dropped when zero. */
function optionalFields(message: string): Set<string> | undefined {
  const def = schemaOf(message);
  if (!def?.properties) return undefined;
  const required = new Set(def.required ?? []);
  return new Set(Object.keys(def.properties).filter((p) => !required.has(p)));
}

/** Decodes one message; well-known apimachinery types come out in their JSON shapes. */
export function decodeMessage(type: string, bytes: Uint8Array): unknown {
  const obj = decodeFields(type, bytes);
  switch (type) {
    case `${META}.Time`:
    case `${META}.MicroTime`:
      // Go writes a zero time too; in JSON it is null.
      return obj.seconds || obj.nanos ? rfc3339(Number(obj.seconds ?? 0), Number(obj.nanos ?? 0), type.endsWith('MicroTime')) : null;
    case `${META}.Duration`:
      return goDuration(Number(obj.duration ?? 0));
    case 'k8s.io.apimachinery.pkg.util.intstr.IntOrString':
      return Number(obj.type ?? 0) === 1 ? (obj.strVal ?? '') : (obj.intVal ?? 0);
    case 'k8s.io.apimachinery.pkg.api.resource.Quantity':
      return obj.string ?? '0';
    case 'k8s.io.apimachinery.pkg.runtime.RawExtension':
    case `${META}.FieldsV1`: {
      const raw = (obj.raw ?? obj.Raw) as string | undefined;
      return raw ? JSON.parse(Buffer.from(raw, 'base64').toString('utf8')) : {};
    }
    default:
      return obj;
  }
}

function decodeFields(type: string, bytes: Uint8Array): Record<string, unknown> {
  const fields = messages[type];
  if (!fields) throw badRequest(`protobuf: no decoding known for message ${type}`);
  const optional = optionalFields(type);
  const numberOf = new Map(Object.entries(fields).map(([n, f]) => [f[0], n]));
  const out: Record<string, unknown> = {};
  const r = protobuf.Reader.create(bytes);
  while (r.pos < r.len) {
    const tag = r.uint32();
    const field = fields[tag >>> 3];
    const wire = tag & 7;
    if (!field) {
      r.skipType(wire);
      continue;
    }
    const [name, kind, third, fourth] = field;
    if (kind === 'map') {
      const entry = protobuf.Reader.create(r.bytes());
      let key = '';
      let value: unknown = SCALARS.has(fourth!) ? (fourth === 'string' || fourth === 'bytes' ? '' : 0) : {};
      while (entry.pos < entry.len) {
        const t = entry.uint32();
        if (t >>> 3 === 1) key = String(readScalar(entry, third!));
        else if (t >>> 3 === 2) value = SCALARS.has(fourth!) ? readScalar(entry, fourth!) : decodeMessage(fourth!, entry.bytes());
        else entry.skipType(t & 7);
      }
      ((out[name] ??= {}) as Record<string, unknown>)[key] = value;
      continue;
    }
    const repeated = third === 'repeated';
    const values: unknown[] = [];
    if (SCALARS.has(kind) && wire === 2 && kind !== 'string' && kind !== 'bytes') {
      const end = r.uint32() + r.pos;
      while (r.pos < end) values.push(readScalar(r, kind));
    } else values.push(SCALARS.has(kind) ? readScalar(r, kind) : decodeMessage(kind, r.bytes()));
    if (repeated) ((out[name] ??= []) as unknown[]).push(...values);
    else out[name] = values.at(-1);
  }
  const known = schemaOf(type)?.properties;
  for (const [name, value] of Object.entries(out)) {
    const scalar = SCALARS.has(fields[numberOf.get(name)!]?.[1] ?? '');
    if ((scalar ? isZero(value) : value === null) && optional?.has(name) && !isPointerField(type, name)) delete out[name];
    // Go structs embedded with `json:",inline"` (Volume's VolumeSource, a Probe's handler, ...) are
    // a field in protobuf but their fields sit in the parent in JSON.
    else if (known && !(name in known) && value && typeof value === 'object' && !Array.isArray(value)) {
      delete out[name];
      Object.assign(out, value);
    }
  }
  return out;
}
