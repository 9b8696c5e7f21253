// RFC 6902 JSON patch with fast-json-patch. A malformed patch is a 400; an operation that cannot
// apply (missing path, failed test) is a 422, as kube-apiserver answers.
import jsonpatch from 'fast-json-patch';
import { ApiError, badRequest } from '../../k8s/errors.js';
import type { KObject } from '../../k8s/object.js';

export function applyJsonPatch(doc: KObject, ops: unknown): KObject {
  if (!Array.isArray(ops)) throw badRequest('json patch must be a JSON array of operations');
  const invalidOp = jsonpatch.validate(ops as jsonpatch.Operation[]);
  if (
    invalidOp &&
    invalidOp.name !== 'OPERATION_PATH_UNRESOLVABLE' &&
    invalidOp.name !== 'TEST_OPERATION_FAILED' &&
    invalidOp.name !== 'OPERATION_FROM_UNRESOLVABLE'
  ) {
    throw badRequest(`invalid json patch: ${invalidOp.message.split('\n')[0]}`);
  }
  try {
    return jsonpatch.applyPatch(structuredClone(doc), ops as jsonpatch.Operation[], true, false).newDocument as KObject;
  } catch (err) {
    const message = err instanceof Error ? err.message.split('\n')[0] : String(err);
    throw new ApiError(422, 'Invalid', `the server rejected our request due to an error in our request: ${message}`);
  }
}
