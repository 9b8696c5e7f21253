// Decoding protobuf bodies built here with protobufjs's Writer, field numbers as upstream.
import t from 'tap';
import { decodeProtobufObject } from '../../src/apiserver/protobuf/index.js';
import { envelope, pb } from '../helpers/protobuf.js';

t.test('a pod with an inline volume source, an int-or-string port and a timestamp', async (t) => {
  const meta = pb((w) => {
    w.uint32((1 << 3) | 2).string('p');
    w.uint32((8 << 3) | 2).bytes(pb((m) => m.uint32((1 << 3) | 0).int64(1700000000))); // creationTimestamp
    w.uint32((11 << 3) | 2).bytes(
      pb((m) =>
        m
          .uint32((1 << 3) | 2)
          .string('app')
          .uint32((2 << 3) | 2)
          .string('web'),
      ),
    ); // labels
  });
  const probe = pb((w) => {
    // Probe.handler (1, inline ProbeHandler) -> httpGet (2) -> port (2, IntOrString{type 1, strVal 3})
    w.uint32((1 << 3) | 2).bytes(
      pb((h) =>
        h.uint32((2 << 3) | 2).bytes(
          pb((g) =>
            g
              .uint32((1 << 3) | 2)
              .string('/healthz')
              .uint32((2 << 3) | 2)
              .bytes(
                pb((p) =>
                  p
                    .uint32((1 << 3) | 0)
                    .int64(1)
                    .uint32((3 << 3) | 2)
                    .string('http'),
                ),
              ),
          ),
        ),
      ),
    );
    w.uint32((2 << 3) | 0).int32(0); // initialDelaySeconds: a zero of a non-pointer field
  });
  const container = pb((w) => {
    w.uint32((1 << 3) | 2)
      .string('c')
      .uint32((2 << 3) | 2)
      .string('busybox');
    w.uint32((10 << 3) | 2).bytes(probe); // livenessProbe
    w.uint32((16 << 3) | 0).bool(false); // tty: false, dropped like JSON's omitempty
  });
  const volume = pb((w) => {
    w.uint32((1 << 3) | 2).string('data');
    // Volume.volumeSource (2, inline) -> emptyDir (2) -> medium (1)
    w.uint32((2 << 3) | 2).bytes(pb((s) => s.uint32((2 << 3) | 2).bytes(pb((e) => e.uint32((1 << 3) | 2).string('Memory')))));
  });
  const spec = pb((w) => {
    w.uint32((1 << 3) | 2).bytes(volume);
    w.uint32((2 << 3) | 2).bytes(container);
    w.uint32((4 << 3) | 0).int64(0); // terminationGracePeriodSeconds: 0 is a pointer's explicit zero
  });
  const pod = pb((w) =>
    w
      .uint32((1 << 3) | 2)
      .bytes(meta)
      .uint32((2 << 3) | 2)
      .bytes(spec),
  );
  t.same(decodeProtobufObject(envelope('v1', 'Pod', pod)), {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'p', creationTimestamp: '2023-11-14T22:13:20Z', labels: { app: 'web' } },
    spec: {
      volumes: [{ name: 'data', emptyDir: { medium: 'Memory' } }],
      containers: [{ name: 'c', image: 'busybox', livenessProbe: { httpGet: { path: '/healthz', port: 'http' } } }],
      terminationGracePeriodSeconds: 0,
    },
  });
});

t.test('secret bytes become base64, as in JSON', async (t) => {
  const secret = pb((w) =>
    w.uint32((2 << 3) | 2).bytes(
      pb((e) =>
        e
          .uint32((1 << 3) | 2)
          .string('k')
          .uint32((2 << 3) | 2)
          .bytes(Buffer.from('hi')),
      ),
    ),
  );
  t.same(decodeProtobufObject(envelope('v1', 'Secret', secret)), { apiVersion: 'v1', kind: 'Secret', data: { k: 'aGk=' } });
});

t.test('bad bodies are 400s that say what is wrong', async (t) => {
  t.throws(() => decodeProtobufObject(Buffer.from('{"kind":"Pod"}')), { code: 400, message: /magic number/ });
  t.throws(() => decodeProtobufObject(envelope('v1', 'Frobnicator', new Uint8Array())), {
    code: 400,
    message: /no decoding known for message k8s\.io\.api\.core\.v1\.Frobnicator/,
  });
  t.throws(() => decodeProtobufObject(envelope('v1', 'Pod', Buffer.from([0x0a, 0x50, 0x01]))), { code: 400, message: /malformed/ });
  t.throws(() => decodeProtobufObject(Buffer.concat([Buffer.from('k8s\0', 'latin1'), Buffer.from([0x12, 0x00])])), {
    code: 400,
    message: /apiVersion and kind/,
  });
});
