// `skiff snapshot save` on a running server: POST /v1-skiff/snapshots {name?, dir?} copies the
// datastore online inside the server process (the CLI cannot open the SQLite file, which the server
// holds locked) and answers the file written. As secrets-encrypt's endpoints, it sits behind the
// common authentication and answers only the cluster's administrators (group system:masters, which
// the admin certificate under <data-dir>/server/tls carries): a snapshot holds every Secret.
import type { Context, Hono } from 'hono';
import { ApiError, badRequest } from '../k8s/errors.js';
import type { Bindings, UserInfo } from './authn.js';
import { jsonResponse } from './negotiate.js';

export const SNAPSHOTS_PATH = '/v1-skiff/snapshots';

type Env = { Bindings: Bindings; Variables: { user: UserInfo } };

export interface SnapshotRequest {
  name?: string;
  dir?: string;
}

export interface SavedSnapshot {
  name: string;
  location: string;
  size: number;
  created: string;
}

/** What the server does for a save request; a UsageError-like message comes back as 400. */
export interface SnapshotService {
  save(req: SnapshotRequest): Promise<SavedSnapshot>;
  /** Errors whose message is the user's to fix (bad name, a snapshot already there). */
  isBadRequest(err: unknown): boolean;
}

function requireAdmin(c: Context<Env>): void {
  const user = c.get('user');
  if (!user?.groups?.includes('system:masters'))
    throw new ApiError(
      403,
      'Forbidden',
      `forbidden: User "${user?.username ?? 'system:anonymous'}" cannot create path "${c.req.path}": ` +
        "snapshots are for the cluster's administrators (group system:masters)",
    );
}

export function snapshotRoutes(service: SnapshotService): (app: Hono<Env>) => void {
  return (app) => {
    app.post(SNAPSHOTS_PATH, async (c) => {
      requireAdmin(c);
      let req: SnapshotRequest;
      try {
        req = await c.req.json();
      } catch {
        throw badRequest('the body must be JSON: {"name": "...", "dir": "..."}');
      }
      if (typeof req !== 'object' || req === null) throw badRequest('the body must be a JSON object');
      if ((req.name !== undefined && typeof req.name !== 'string') || (req.dir !== undefined && typeof req.dir !== 'string'))
        throw badRequest('name and dir must be strings');
      try {
        return jsonResponse(await service.save(req));
      } catch (err) {
        if (service.isBadRequest(err)) throw badRequest((err as Error).message);
        throw err;
      }
    });
  };
}
