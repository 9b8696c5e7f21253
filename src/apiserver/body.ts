// Request bodies: JSON, YAML or Kubernetes protobuf, at most 3 MiB, each failure a 400/413/415.
import YAML from 'yaml';
import { ApiError, badRequest } from '../k8s/errors.js';
import type { KObject } from '../k8s/object.js';
import { decodeProtobufObject, PROTOBUF_CONTENT_TYPE } from './protobuf/index.js';

export const MAX_BODY_BYTES = 3 * 1024 * 1024;

export function mediaType(contentType: string | null | undefined): string {
  return (contentType ?? '').split(';')[0]!.trim().toLowerCase();
}

export async function readBody(req: Request): Promise<Uint8Array> {
  const length = req.headers.get('content-length');
  const declared = Number(length ?? '0');
  if (declared > MAX_BODY_BYTES) throw tooLarge();
  // A declared length is what the HTTP parser lets through: read in one piece, without the web stream
  // (and the whole Request) the server's light request makes for req.body, a sixth of a create's time.
  if (length !== null) return new Uint8Array(await req.arrayBuffer());
  if (!req.body) return new Uint8Array();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of req.body as unknown as AsyncIterable<Uint8Array>) {
    size += chunk.byteLength;
    if (size > MAX_BODY_BYTES) throw tooLarge();
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

function tooLarge(): ApiError {
  return new ApiError(413, 'RequestEntityTooLarge', `the request body is larger than the limit of ${MAX_BODY_BYTES} bytes`);
}

/** How deeply a body may nest; Go's JSON decoder stops at 10000, and every Kubernetes object is far shallower. */
export const MAX_DEPTH = 1000;

/** Refuses a value nested deeper than MAX_DEPTH (walked without recursion), before recursive code meets it. */
export function checkDepth(value: unknown, what: string): void {
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    if (depth > MAX_DEPTH) throw badRequest(`${what} is nested too deeply: more than ${MAX_DEPTH} levels`);
    for (const child of Object.values(v)) if (child !== null && typeof child === 'object') stack.push([child, depth + 1]);
  }
}

/** Parses JSON or YAML text; `what` names the body in errors ("the request body", "the patch"). */
export function parseStructured(bytes: Uint8Array, type: string, what = 'the request body'): unknown {
  const text = Buffer.from(bytes).toString('utf8');
  if (text.trim() === '') throw badRequest(`${what} is empty`);
  let value: unknown;
  if (type.endsWith('yaml')) {
    try {
      value = YAML.parse(text, { logLevel: 'error' });
    } catch (err) {
      throw badRequest(`${what} is not valid YAML: ${(err as Error).message.split('\n')[0]!.replace(/:$/, '')}`);
    }
  } else {
    try {
      value = JSON.parse(text);
    } catch (err) {
      throw badRequest(`${what} is not valid JSON: ${(err as Error).message}`);
    }
  }
  checkDepth(value, what);
  return value;
}

/** The object in a create/update body, in whichever encoding the client chose. */
export async function readObject(req: Request): Promise<KObject> {
  const type = mediaType(req.headers.get('content-type')) || 'application/json';
  const bytes = await readBody(req);
  let obj: unknown;
  if (type === PROTOBUF_CONTENT_TYPE) {
    obj = decodeProtobufObject(bytes);
    checkDepth(obj, 'the request body');
  } else if (type === 'application/json' || type === 'application/yaml' || type === '*/*' || type === 'text/plain')
    obj = parseStructured(bytes, type);
  else
    throw new ApiError(
      415,
      'UnsupportedMediaType',
      'the body of the request was in an unknown format - accepted media types include: ' +
        `application/json, application/yaml, ${PROTOBUF_CONTENT_TYPE} (got ${type})`,
    );
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) throw badRequest('the request body must be a JSON object');
  return obj as KObject;
}
