// Kubernetes API errors: each carries what the HTTP layer needs to answer with a `Status` object
// (code, reason, message, details), so code below HTTP can fail in Kubernetes' own terms; and the
// same class on the client side, made from the Status a server answered with.
import type { Status, StatusCause } from 'kubernetes-types/meta/v1.js';

export type StatusReason =
  | 'BadRequest'
  | 'Unauthorized'
  | 'Forbidden'
  | 'NotFound'
  | 'AlreadyExists'
  | 'Conflict'
  | 'Gone'
  | 'Invalid'
  | 'MethodNotAllowed'
  | 'NotAcceptable'
  | 'RequestEntityTooLarge'
  | 'UnsupportedMediaType'
  | 'TooManyRequests'
  | 'InternalError'
  | 'Timeout'
  | 'Expired'
  | 'ServiceUnavailable'
  | 'ServerTimeout'
  | 'Unknown';

export interface ErrorDetails {
  name?: string;
  group?: string;
  kind?: string;
  causes?: StatusCause[];
  retryAfterSeconds?: number;
}

export class ApiError extends Error {
  constructor(
    readonly code: number,
    readonly reason: StatusReason,
    message: string,
    readonly details?: ErrorDetails,
  ) {
    super(message);
    this.name = 'ApiError';
  }

  toStatus(): Status {
    return {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: this.message,
      reason: this.reason,
      ...(this.details ? { details: this.details } : {}),
      code: this.code,
    };
  }
}

/** A resource as Kubernetes names it in messages: `pods`, `deployments.apps`. */
export interface ResourceName {
  group: string;
  resource: string;
}

const qualified = (r: ResourceName) => (r.group ? `${r.resource}.${r.group}` : r.resource);

export const badRequest = (message: string, causes?: StatusCause[]) =>
  new ApiError(400, 'BadRequest', message, causes ? { causes } : undefined);

export const notFound = (r: ResourceName, name: string) =>
  new ApiError(404, 'NotFound', `${qualified(r)} "${name}" not found`, { name, group: r.group || undefined, kind: r.resource });

export const alreadyExists = (r: ResourceName, name: string) =>
  new ApiError(409, 'AlreadyExists', `${qualified(r)} "${name}" already exists`, { name, group: r.group || undefined, kind: r.resource });

export const conflict = (r: ResourceName, name: string, why: string) =>
  new ApiError(409, 'Conflict', `Operation cannot be fulfilled on ${qualified(r)} "${name}": ${why}`, {
    name,
    group: r.group || undefined,
    kind: r.resource,
  });

/** One invalid field, in the shape Kubernetes reports them. */
export interface FieldError {
  field: string;
  type:
    | 'FieldValueRequired'
    | 'FieldValueNotFound'
    | 'FieldValueInvalid'
    | 'FieldValueNotSupported'
    | 'FieldValueDuplicate'
    | 'FieldValueForbidden'
    | 'FieldValueTooLong'
    | 'FieldValueTooMany'
    | 'FieldValueTypeInvalid';
  /** The human part, e.g. `Required value` or `Invalid value: "x": must be ...`. */
  detail: string;
}

/** 422 Invalid: `Deployment.apps "web" is invalid: [spec.replicas: Invalid value: -1: must be ...]`. */
export const invalid = (kind: string, group: string, name: string, errors: FieldError[]) => {
  const parts = errors.map((e) => `${e.field}: ${e.detail}`);
  const list = parts.length === 1 ? parts[0] : `[${parts.join(', ')}]`;
  return new ApiError(422, 'Invalid', `${group ? `${kind}.${group}` : kind} "${name}" is invalid: ${list}`, {
    name,
    group: group || undefined,
    kind,
    causes: errors.map((e) => ({ reason: e.type, message: e.detail, field: e.field })),
  });
};

export const internalError = (message: string) => new ApiError(500, 'InternalError', `Internal error occurred: ${message}`);

export const isNotFound = (e: unknown) => e instanceof ApiError && e.code === 404;
export const isConflict = (e: unknown) => e instanceof ApiError && e.code === 409 && e.reason === 'Conflict';
export const isAlreadyExists = (e: unknown) => e instanceof ApiError && e.code === 409 && e.reason === 'AlreadyExists';
/** 410: a watch or list asked for a resourceVersion that has been compacted away. */
export const isGone = (e: unknown) => e instanceof ApiError && (e.code === 410 || e.reason === 'Expired');

/** A delete with a uid precondition met a newer object of the same name: the one meant is gone. */
export const isPreconditionFailed = (e: unknown) => e instanceof ApiError && e.code === 409 && e.message.startsWith('Precondition failed');

/** For `.catch(ignoreNotFound)`: the object is already gone, which is what the caller wanted. */
export function ignoreNotFound(err: unknown): void {
  if (!isNotFound(err)) throw err;
}

/** For `.catch(ignoreNotFoundOrReplaced)`: gone, or replaced by another object of the same name. */
export function ignoreNotFoundOrReplaced(err: unknown): void {
  if (!isNotFound(err) && !isPreconditionFailed(err)) throw err;
}
