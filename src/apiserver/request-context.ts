// What every resource handler needs to know about the request in front of it.
import { ApiError, badRequest } from '../k8s/errors.js';
import type { ResourcePath } from './paths.js';
import type { UserInfo } from './authn.js';
import type { WriteContext } from '../api/storage/object-store.js';
import { defaultManager } from '../api/patch/managed-fields.js';
import { checkBooleanParams } from './query.js';

export type FieldValidation = 'Ignore' | 'Warn' | 'Strict';

export interface RequestContext {
  req: Request;
  url: URL;
  query: URLSearchParams;
  path: ResourcePath;
  user: UserInfo;
  dryRun: boolean;
  fieldManager?: string;
  fieldValidation: FieldValidation;
  /** Warning headers to send back (`299 - "..."`). */
  warnings: string[];
}

export function requestContext(req: Request, url: URL, path: ResourcePath, user: UserInfo): RequestContext {
  const q = url.searchParams;
  checkBooleanParams(q);
  const timeout = q.get('timeoutSeconds');
  if (timeout !== null && !/^\d+$/.test(timeout)) throw badRequest(`invalid timeoutSeconds "${timeout}"`);
  const dryRun = q.getAll('dryRun');
  for (const d of dryRun) if (d !== 'All') throw badRequest(`Invalid dry run value: ${d}; the only supported value is All`);
  const fv = q.get('fieldValidation') ?? 'Warn';
  if (fv !== 'Ignore' && fv !== 'Warn' && fv !== 'Strict') {
    throw badRequest(`fieldValidation must be one of Ignore, Warn or Strict, not "${fv}"`);
  }
  const fieldManager = q.get('fieldManager') ?? undefined;
  if (fieldManager !== undefined && (fieldManager.length > 128 || /[^\x20-\x7e]/.test(fieldManager))) {
    throw badRequest('fieldManager must be at most 128 printable characters');
  }
  return { req, url, query: q, path, user, dryRun: dryRun.length > 0, fieldManager, fieldValidation: fv, warnings: [] };
}

/** What the object store needs to know about a write made by this request. */
export function writeContext(ctx: RequestContext, extra: Omit<WriteContext, 'dryRun' | 'manager' | 'warnings'> = {}): WriteContext {
  return {
    dryRun: ctx.dryRun,
    manager: ctx.fieldManager ?? defaultManager(ctx.req.headers.get('user-agent')),
    warnings: ctx.warnings,
    user: ctx.user,
    ...extra,
  };
}

export function methodNotAllowed(ctx: RequestContext): ApiError {
  return new ApiError(
    405,
    'MethodNotAllowed',
    `the server does not allow this method on the requested resource (${ctx.req.method} ${ctx.url.pathname})`,
  );
}

export function warningHeaders(ctx: RequestContext): Record<string, string> {
  // A retried write (a concurrent writer got there first) runs admission again: each warning once.
  const warnings = [...new Set(ctx.warnings)];
  if (warnings.length === 0) return {};
  // A header carries bytes: text beyond Latin-1 (an unknown field's name may be anything) goes as its
  // UTF-8 bytes, as Go's server writes it, rather than failing the response.
  const value = warnings.map((w) => `299 - ${JSON.stringify(w)}`).join(', ');
  return { warning: Buffer.from(value, 'utf8').toString('latin1') };
}
