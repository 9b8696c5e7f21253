// Reads the protobuf field numbers of Kubernetes' API types out of a kubectl binary (Go programs
// carry their gzipped FileDescriptorProtos) and writes them as the compact table the API server's
// protobuf decoder uses: src/apiserver/protobuf/messages.json. Facts only (names, numbers, types);
// rerun when moving to a newer Kubernetes minor:  node scripts/extract-k8s-proto.mjs [kubectl] [out.json]
import fs from 'node:fs';
import zlib from 'node:zlib';
import descriptor from 'protobufjs/ext/descriptor/index.js';

const binary = process.argv[2] ?? '/usr/lib/google-cloud-sdk/bin/kubectl.1.32';
const OUT = process.argv[3] ?? 'src/apiserver/protobuf/messages.json';
const API_GROUPS = [
  'core',
  'apps',
  'batch',
  'certificates',
  'networking',
  'rbac',
  'policy',
  'scheduling',
  'coordination',
  'discovery',
  'storage',
  'authentication',
  'authorization',
  'autoscaling',
  'events',
].join('|');
const WANTED = new RegExp(
  `^k8s\\.io/(api/(${API_GROUPS})/(v1|v2)|api/certificates/v1beta1|` +
    'apimachinery/pkg/(apis/meta/v1|api/resource|util/intstr|runtime))/generated\\.proto$',
);

const data = fs.readFileSync(binary);
const files = new Map();
for (let i = data.indexOf(Buffer.from([0x1f, 0x8b, 0x08])); i >= 0; i = data.indexOf(Buffer.from([0x1f, 0x8b, 0x08]), i + 1)) {
  let raw;
  try {
    raw = zlib.gunzipSync(data.subarray(i, i + 1_000_000), { finishFlush: zlib.constants.Z_SYNC_FLUSH });
  } catch {
    continue;
  }
  let fd;
  try {
    fd = descriptor.FileDescriptorProto.decode(raw);
  } catch {
    continue;
  }
  if (fd.name && WANTED.test(fd.name) && !files.has(fd.name)) files.set(fd.name, fd);
}

const TYPES = {
  1: 'double',
  2: 'float',
  3: 'int64',
  4: 'uint64',
  5: 'int32',
  8: 'bool',
  9: 'string',
  12: 'bytes',
  13: 'uint32',
  17: 'sint32',
  18: 'sint64',
};
const table = {};
for (const fd of [...files.values()].sort((a, b) => a.name.localeCompare(b.name))) {
  const visit = (msg, prefix) => {
    const full = `${prefix}.${msg.name}`;
    const maps = new Map((msg.nestedType ?? []).filter((n) => n.options?.mapEntry).map((n) => [`${full}.${n.name}`, n]));
    for (const nested of msg.nestedType ?? []) if (!nested.options?.mapEntry) visit(nested, full);
    const fields = {};
    for (const f of msg.field ?? []) {
      const typeName = f.typeName ? f.typeName.replace(/^\./, '') : undefined;
      const entry = typeName && maps.get(typeName);
      if (entry) {
        const [k, v] = entry.field;
        fields[f.number] = [f.jsonName || f.name, 'map', TYPES[k.type], v.typeName ? v.typeName.replace(/^\./, '') : TYPES[v.type]];
      } else {
        const kind = typeName ?? TYPES[f.type];
        fields[f.number] = f.label === 3 ? [f.name, kind, 'repeated'] : [f.name, kind];
      }
    }
    table[full] = fields;
  };
  for (const msg of fd.messageType ?? []) visit(msg, fd.package);
}
// kubectl 1.32 carries no descriptor of certificates/v1, only of v1beta1, whose CertificateSigningRequest
// messages have the same fields and numbers: v1's are read from them (kubectl certificate approve sends v1).
for (const [name, fields] of Object.entries(table)) {
  const v1 = name.replace(/^k8s\.io\.api\.certificates\.v1beta1\.(CertificateSigningRequest|ExtraValue)/, 'k8s.io.api.certificates.v1.$1');
  if (v1 === name || table[v1]) continue;
  table[v1] = JSON.parse(JSON.stringify(fields).replaceAll('k8s.io.api.certificates.v1beta1.', 'k8s.io.api.certificates.v1.'));
}
fs.writeFileSync(OUT, `${JSON.stringify(table, null, 0).replace(/\],"/g, '],\n"')}\n`);
console.log(`extract-k8s-proto: ${files.size} files, ${Object.keys(table).length} messages -> ${OUT}`);
