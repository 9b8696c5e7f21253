// Protobuf bodies as kubectl sends them, built with protobufjs's Writer (field numbers as upstream).
import protobuf from 'protobufjs/minimal.js';

/** One message's bytes, written by `build`. */
export function pb(build: (w: protobuf.Writer) => void): Uint8Array {
  const w = protobuf.Writer.create();
  build(w);
  return w.finish();
}

/** `k8s\0` and a runtime.Unknown naming apiVersion and kind around `raw`. */
export function envelope(apiVersion: string, kind: string, raw: Uint8Array) {
  const typeMeta = pb((m) =>
    m
      .uint32((1 << 3) | 2)
      .string(apiVersion)
      .uint32((2 << 3) | 2)
      .string(kind),
  );
  const unknown = pb((w) =>
    w
      .uint32((1 << 3) | 2)
      .bytes(typeMeta)
      .uint32((2 << 3) | 2)
      .bytes(raw),
  );
  return Buffer.concat([Buffer.from('k8s\0', 'latin1'), unknown]);
}
