// Reads the CRI v1 API (package runtime.v1: RuntimeService, ImageService and their messages) out of
// a containerd binary, which carries it as a gzipped FileDescriptorProto, and writes the protobufjs
// JSON the CRI client loads: src/cri/cri-api.json. Facts only (names, field numbers, types), with
// fields in their JSON (camelCase) spelling; rerun when moving to a newer containerd:
//   node scripts/extract-cri-proto.mjs [/usr/bin/containerd] [out.json]
import fs from 'node:fs';
import zlib from 'node:zlib';
import descriptor from 'protobufjs/ext/descriptor/index.js';

const binary = process.argv[2] ?? '/usr/bin/containerd';
const OUT = process.argv[3] ?? 'src/cri/cri-api.json';
const data = fs.readFileSync(binary);
let file;
for (let i = data.indexOf(Buffer.from([0x1f, 0x8b, 0x08])); i >= 0 && !file; i = data.indexOf(Buffer.from([0x1f, 0x8b, 0x08]), i + 1)) {
  try {
    const fd = descriptor.FileDescriptorProto.decode(
      zlib.gunzipSync(data.subarray(i, i + 1_000_000), { finishFlush: zlib.constants.Z_SYNC_FLUSH }),
    );
    if (fd.package === 'runtime.v1' && fd.service?.some((s) => s.name === 'RuntimeService')) file = fd;
  } catch {
    // not a descriptor
  }
}
if (!file) throw new Error(`no CRI v1 descriptor (package runtime.v1) in ${binary}`);

const SCALARS = {
  1: 'double',
  2: 'float',
  3: 'int64',
  4: 'uint64',
  5: 'int32',
  6: 'fixed64',
  7: 'fixed32',
  8: 'bool',
  9: 'string',
  12: 'bytes',
  13: 'uint32',
  15: 'sfixed32',
  16: 'sfixed64',
  17: 'sint32',
  18: 'sint64',
};
const typeOf = (f) => (f.typeName ? f.typeName.replace(/^\.runtime\.v1\./, '') : SCALARS[f.type]);
const camel = (f) => f.jsonName || f.name.replace(/_([a-z0-9])/g, (_, c) => c.toUpperCase());

function message(msg) {
  const maps = new Map((msg.nestedType ?? []).filter((n) => n.options?.mapEntry).map((n) => [n.name, n]));
  const out = { fields: {} };
  for (const f of msg.field ?? []) {
    const entry = f.typeName && maps.get(f.typeName.split('.').pop());
    if (entry) out.fields[camel(f)] = { keyType: typeOf(entry.field[0]), type: typeOf(entry.field[1]), id: f.number };
    else out.fields[camel(f)] = { type: typeOf(f), id: f.number, ...(f.label === 3 ? { rule: 'repeated' } : {}) };
  }
  const nested = {};
  for (const n of msg.nestedType ?? []) if (!n.options?.mapEntry) nested[n.name] = message(n);
  for (const e of msg.enumType ?? []) nested[e.name] = enumeration(e);
  if (Object.keys(nested).length) out.nested = nested;
  return out;
}

function enumeration(e) {
  return { values: Object.fromEntries(e.value.map((v) => [v.name, v.number])) };
}

const types = {};
for (const m of file.messageType ?? []) types[m.name] = message(m);
for (const e of file.enumType ?? []) types[e.name] = enumeration(e);
for (const s of file.service ?? []) {
  types[s.name] = {
    methods: Object.fromEntries(
      s.method.map((m) => [
        m.name,
        {
          requestType: m.inputType.replace(/^\.runtime\.v1\./, ''),
          responseType: m.outputType.replace(/^\.runtime\.v1\./, ''),
          ...(m.serverStreaming ? { responseStream: true } : {}),
        },
      ]),
    ),
  };
}
fs.writeFileSync(OUT, `${JSON.stringify({ nested: { runtime: { nested: { v1: { nested: types } } } } })}\n`);
console.log(`extract-cri-proto: ${Object.keys(types).length} types and services -> ${OUT}`);
