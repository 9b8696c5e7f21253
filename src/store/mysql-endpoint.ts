// Where a MySQL (or MariaDB) datastore is: --datastore-endpoint in K3s's form (go-sql-driver's DSN
// behind mysql://, as kine takes it) or as a plain URL:
//   mysql://user:password@tcp(host:port)/database
//   mysql://user:password@unix(/run/mysqld/mysqld.sock)/database
//   mysql://user:password@host:port/database
// Anything left out is kine's default: user root, no password, 127.0.0.1:3306, database kubernetes.
// User, password and database are percent-decoded (write @ : / % in a password as %40 %3A %2F %25).
// TLS comes from --datastore-cafile/certfile/keyfile, so no query parameters are taken.
import { StoreOpenError } from './errors.js';
import { redact } from './sql-log.js';

export interface MysqlAddress {
  user: string;
  password: string;
  database: string;
  /** Either host and port, or the path of a unix socket. */
  host?: string;
  port?: number;
  socketPath?: string;
}

export const DEFAULT_DATABASE = 'kubernetes';

// userinfo@ (up to the last @ that leaves a valid address), then tcp(…), unix(…) or host:port, /database, ?query
const ENDPOINT = /^mysql:\/\/(?:(.*)@)?(?:tcp\(([^()]*)\)|unix\(([^()]+)\)|([^/?#@()]*))(?:\/([^/?#]*))?(?:\?(.*))?$/i;
const HOST_PORT = /^(?:\[([^\]]+)\]|([^:[\]]*))(?::(\d{1,5}))?$/;

export function parseMysqlEndpoint(endpoint: string): MysqlAddress {
  // Without its password, nor its parameters (which could hold one).
  const invalid = (why: string) => new StoreOpenError(`invalid datastore endpoint ${redact(endpoint.replace(/\?.*/, ''))}: ${why}`);
  const m = ENDPOINT.exec(endpoint);
  if (!m) {
    throw invalid(
      'expected mysql://user:password@tcp(host:port)/database, mysql://user:password@unix(/path/to/socket)/database ' +
        'or mysql://user:password@host:port/database',
    );
  }
  const [, userinfo = '', tcp, socketPath, plain, database = '', query] = m;
  if (query) {
    const names = [...new URLSearchParams(query).keys()].join(', ');
    throw invalid(`parameters are not taken (${names}); TLS files are given with --datastore-cafile, -certfile and -keyfile`);
  }
  const decode = (part: string, what: string) => {
    try {
      return decodeURIComponent(part);
    } catch {
      throw invalid(`the ${what} is not percent-encoded correctly`);
    }
  };
  const colon = userinfo.indexOf(':');
  const user = decode(colon < 0 ? userinfo : userinfo.slice(0, colon), 'user') || 'root';
  const password = colon < 0 ? '' : decode(userinfo.slice(colon + 1), 'password');
  const address = { user, password, database: decode(database, 'database') || DEFAULT_DATABASE };
  if (socketPath !== undefined) return { ...address, socketPath };
  const hp = HOST_PORT.exec(tcp ?? plain ?? '');
  const port = Number(hp?.[3] ?? 3306);
  if (!hp || port < 1 || port > 65535) throw invalid(`expected host:port, not ${tcp ?? plain}`);
  return { ...address, host: hp[1] ?? (hp[2] || '127.0.0.1'), port };
}
