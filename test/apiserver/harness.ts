import path from 'node:path';
import type { Test } from 'tap';
import { openSqliteStore } from '../../src/store/index.js';
import { createApiServer, type ApiServer, type ApiServerOptions } from '../../src/apiserver/api-server.js';
import type { UserInfo } from '../../src/apiserver/authn.js';
import { tempDir } from '../helpers/tmp.js';
import { generateKey, keyToPem } from '../../src/pki/certificates.js';

export const admin: UserInfo = { username: 'system:admin', groups: ['system:masters', 'system:authenticated'] };

export interface Harness extends ApiServer {
  request(
    method: string,
    url: string,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<{ status: number; body: any; headers: Headers }>;
  raw(method: string, url: string, body?: BodyInit, headers?: Record<string, string>): Promise<Response>;
}

/** The API stack on a fresh datastore, called in-process as the cluster admin; `options` adds to the server's. */
export async function apiHarness(t: Test, options: Partial<ApiServerOptions> = {}): Promise<Harness> {
  const store = await openSqliteStore({ file: path.join(tempDir(t), 'state.db') });
  const stack = await createApiServer({ store, serviceAccountKeyPem: await keyToPem((await generateKey()).privateKey), ...options });
  t.teardown(async () => {
    await stack.close();
    await store.close();
  });
  const raw = (method: string, url: string, body?: BodyInit, headers: Record<string, string> = {}) =>
    Promise.resolve(stack.app.fetch(new Request(`https://skiff.test${url}`, { method, body, headers }), { user: admin }));
  return {
    ...stack,
    raw,
    async request(method, url, body, headers = {}) {
      const res = await raw(method, url, body === undefined ? undefined : JSON.stringify(body), {
        'content-type': 'application/json',
        ...headers,
      });
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : undefined, headers: res.headers };
    },
  };
}
