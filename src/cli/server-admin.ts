// Commands that ask the running server on this machine (secrets-encrypt, snapshot save) reach it as
// its admin: the client certificate under <data-dir>/server/tls (root's files, as K3s's server token
// is), at --server or the port the server's own config file and SKIFF_* variables give.
import fs from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import type { Settings } from './config.js';
import { UsageError } from './values.js';

export interface ServerAdmin {
  url: URL;
  ca: string;
  cert: string;
  key: string;
}

/** The server's address and the admin credentials of `settings`' data dir. */
export function serverAdmin(settings: Settings, server: string | undefined): ServerAdmin {
  const tls = path.join(settings['data-dir'] as string, 'server', 'tls');
  const read = (name: string) => {
    try {
      return fs.readFileSync(path.join(tls, name), 'utf8');
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      const why =
        e.code === 'EACCES'
          ? 'permission denied (run it as the user the server runs as)'
          : e.code === 'ENOENT'
            ? 'no such file'
            : e.message;
      throw new UsageError(`cannot read the server's admin credentials ${path.join(tls, name)}: ${why}`);
    }
  };
  let url: URL;
  try {
    url = new URL(server ?? `https://127.0.0.1:${settings['https-listen-port']}`);
  } catch {
    throw new UsageError(`invalid --server ${server}: expected https://HOST:PORT`);
  }
  return { url, ca: read('server-ca.crt'), cert: read('client-admin.crt'), key: read('client-admin.key') };
}

export interface ServerAnswer {
  status: number;
  /** The JSON body, if it was JSON. */
  json?: { message?: string } & Record<string, unknown>;
  text: string;
}

/** One JSON request to the server; rejects only when the server cannot be reached or does not answer. */
export function askServer(admin: ServerAdmin, method: string, urlPath: string, body: unknown, timeoutMs: number): Promise<ServerAnswer> {
  return new Promise((resolve, reject) => {
    const { ca, cert, key } = admin;
    const headers = { 'content-type': 'application/json' };
    const req = https.request(new URL(urlPath, admin.url), { method, ca, cert, key, headers, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        let json: ServerAnswer['json'];
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, json, text });
      });
    });
    req.on('timeout', () => req.destroy(new Error('the server did not answer in time')));
    req.on('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

/** The server's own words for a refusal, pointing at its log. */
export const refusal = (a: ServerAnswer) => new Error(`${a.json?.message ?? a.text.trim()} (see the server log for details)`);
