// `skiff snapshot save` on a running server: POST /v1-skiff/snapshots {name?, dir?} copies the
// datastore online inside the server process (the CLI cannot open the SQLite file, which the server
// holds locked) and answers the file written. As secrets-encrypt's endpoints, it sits behind the
// common authentication and answers only the cluster's administrators (group system:masters, which
// the admin certificate under <data-dir>/server/tls carries): a snapshot holds every Secret.
import type { Hono } from 'hono';
import { badRequest } from '../k8s/errors.js';
import { type AdminEnv, jsonObject, requireAdmin } from './admin-routes.js';
import { jsonResponse } from './negotiate.js';

export const SNAPSHOTS_PATH = '/v1-skiff/snapshots';

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

const WHY = "snapshots are for the cluster's administrators (group system:masters)";

export function snapshotRoutes(service: SnapshotService): (app: Hono<AdminEnv>) => void {
  return (app) => {
    app.post(SNAPSHOTS_PATH, async (c) => {
      requireAdmin(c, WHY);
      const req = await jsonObject<SnapshotRequest>(c, '{"name": "...", "dir": "..."}');
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
