// Kubernetes' protobuf request bodies (what kubectl's typed commands send): the `k8s\0` magic, a
// runtime.Unknown envelope naming apiVersion and kind, and the object's own message inside.
import { badRequest } from '../../k8s/errors.js';
import type { KObject } from '../../k8s/object.js';
import { decodeMessage } from './decode.js';

export const PROTOBUF_CONTENT_TYPE = 'application/vnd.kubernetes.protobuf';

const MAGIC = [0x6b, 0x38, 0x73, 0x00];

/** The protobuf message of a kind: `apps/v1` Deployment -> k8s.io.api.apps.v1.Deployment. */
function messageName(apiVersion: string, kind: string): string {
  if (kind === 'DeleteOptions') return 'k8s.io.apimachinery.pkg.apis.meta.v1.DeleteOptions';
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion];
  return `k8s.io.api.${group ? group!.split('.')[0] : 'core'}.${version}.${kind}`;
}

export function decodeProtobufObject(bytes: Uint8Array): KObject {
  if (bytes.length < 4 || MAGIC.some((b, i) => bytes[i] !== b))
    throw badRequest('the protobuf body does not start with the Kubernetes magic number k8s\\0');
  let envelope: { typeMeta?: { apiVersion?: string; kind?: string }; raw?: string; contentEncoding?: string };
  try {
    envelope = decodeMessage('k8s.io.apimachinery.pkg.runtime.Unknown', bytes.subarray(4)) as typeof envelope;
  } catch (err) {
    throw badRequest(`the protobuf body is not a valid runtime.Unknown envelope: ${(err as Error).message}`);
  }
  const { apiVersion, kind } = envelope.typeMeta ?? {};
  if (!apiVersion || !kind) throw badRequest('the protobuf body does not name its apiVersion and kind');
  if (envelope.contentEncoding) throw badRequest(`unsupported protobuf content encoding "${envelope.contentEncoding}"`);
  let obj: unknown;
  try {
    obj = decodeMessage(messageName(apiVersion, kind), Buffer.from(envelope.raw ?? '', 'base64'));
  } catch (err) {
    if (err instanceof Error && err.name === 'ApiError') throw err;
    throw badRequest(`the protobuf body for ${kind} (${apiVersion}) is malformed: ${(err as Error).message}`);
  }
  return { apiVersion, kind, ...(obj as object) };
}
