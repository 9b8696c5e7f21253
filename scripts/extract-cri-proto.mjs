// Reads the CRI v1 API (package runtime.v1: RuntimeService, ImageService and their messages) out of
// a containerd binary, which carries it as a gzipped FileDescriptorProto, and writes the protobufjs
// JSON the CRI client loads: src/cri/cri-api.json. With it go the few messages of containerd's own
// API the agent uses on the same socket: the event stream (Events.Subscribe, its Envelope, the task,
// container and image events it follows) and the two well-known types they carry. Facts only (names,
// field numbers, types), with fields in their JSON (camelCase) spelling; rerun when moving to a newer
// containerd:
//   node scripts/extract-cri-proto.mjs [/usr/bin/containerd] [out.json]
import fs from 'node:fs';
import zlib from 'node:zlib';
import descriptor from 'protobufjs/ext/descriptor/index.js';

const binary = process.argv[2] ?? '/usr/bin/containerd';
const OUT = process.argv[3] ?? 'src/cri/cri-api.json';

/** What is taken from each package: every message and service of the CRI, named ones of the others. */
const WANTED = {
  'runtime.v1': undefined,
  'containerd.services.events.v1': ['Events.Subscribe', 'SubscribeRequest', 'Envelope'],
  'containerd.events': ['TaskStart', 'TaskExit', 'TaskDelete', 'ContainerDelete'],
  'containerd.services.images.v1': ['ImageDelete'],
  'google.protobuf': ['Any', 'Timestamp'],
};

const data = fs.readFileSync(binary);
const magic = Buffer.from([0x1f, 0x8b, 0x08]);
const files = new Map();
for (let i = data.indexOf(magic); i >= 0; i = data.indexOf(magic, i + 1)) {
  try {
    const fd = descriptor.FileDescriptorProto.decode(
      zlib.gunzipSync(data.subarray(i, i + 1_000_000), { finishFlush: zlib.constants.Z_SYNC_FLUSH }),
    );
    const wanted = fd.package in WANTED && (WANTED[fd.package] ?? (fd.service ?? []).some((s) => s.name === 'RuntimeService'));
    if (wanted && !files.has(fd.name)) files.set(fd.name, fd);
  } catch {
    // not a descriptor
  }
}
if (![...files.values()].some((fd) => fd.package === 'runtime.v1'))
  throw new Error(`no CRI v1 descriptor (package runtime.v1) in ${binary}`);

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
const camel = (f) => f.jsonName || f.name.replace(/_([a-z0-9])/g, (_, c) => c.toUpperCase());

/** The messages, enums and services of one package, in protobufjs JSON; type names relative to the package. */
function types(pkg, fds) {
  const local = (name) => name.replace(new RegExp(`^\\.${pkg.replaceAll('.', '\\.')}\\.`), '').replace(/^\./, '');
  const typeOf = (f) => (f.typeName ? local(f.typeName) : SCALARS[f.type]);

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

  const wanted = WANTED[pkg];
  const keep = (name) => !wanted || wanted.includes(name);
  const out = {};
  for (const file of fds) {
    for (const m of file.messageType ?? []) if (keep(m.name)) out[m.name] = message(m);
    for (const e of file.enumType ?? []) if (keep(e.name)) out[e.name] = enumeration(e);
    for (const s of file.service ?? []) {
      const methods = s.method.filter((m) => keep(s.name) || keep(`${s.name}.${m.name}`));
      if (!methods.length) continue;
      out[s.name] = {
        methods: Object.fromEntries(
          methods.map((m) => [
            m.name,
            {
              requestType: local(m.inputType),
              responseType: local(m.outputType),
              ...(m.serverStreaming ? { responseStream: true } : {}),
            },
          ]),
        ),
      };
    }
  }
  return out;
}

function enumeration(e) {
  return { values: Object.fromEntries(e.value.map((v) => [v.name, v.number])) };
}

const root = { nested: {} };
for (const pkg of Object.keys(WANTED)) {
  const fds = [...files.values()].filter((fd) => fd.package === pkg);
  if (!fds.length) throw new Error(`no package ${pkg} in ${binary}`);
  let ns = root;
  for (const part of pkg.split('.')) ns = ns.nested[part] ??= { nested: {} };
  Object.assign(ns.nested, types(pkg, fds));
}
fs.writeFileSync(OUT, `${JSON.stringify(root)}\n`);
console.log(`extract-cri-proto: ${Object.keys(WANTED).length} packages -> ${OUT}`);
