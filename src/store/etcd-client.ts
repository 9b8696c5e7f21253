// How the etcd store reaches etcd: TLS from files, gRPC settings, and when a failed call is sent
// again. etcd3 by default resends any call that failed on a network error to the next member; for a
// write that may have been applied before the connection dropped, that turns "maybe" into a wrong
// answer (a create reported as a conflict with itself). Here a call goes to the next member only
// when it surely never left this process.
import fs from 'node:fs';
import tls from 'node:tls';
import { GRPCUnavailableError, type IOptions } from 'etcd3';
import { StoreOpenError } from './errors.js';
import type { Tls } from './postgres-log.js';

type Policy = NonNullable<NonNullable<IOptions['faultHandling']>['global']>;

/** True when the call failed before it was sent: no connection to that member. */
export function neverSent(err: unknown): boolean {
  return err instanceof GRPCUnavailableError && err.message.includes('No connection established');
}

/** etcd3's policy across members: the call goes to the next member while it was never sent. */
class ResendUnsent implements Policy {
  declare readonly _altReturn: never;
  constructor(private readonly attempts: number) {}
  readonly onSuccess = () => ({ dispose: () => undefined });
  readonly onFailure = () => ({ dispose: () => undefined });

  async execute<T>(fn: (context: { signal: AbortSignal }) => PromiseLike<T> | T, signal = new AbortController().signal): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await fn({ signal });
      } catch (err) {
        if (attempt >= this.attempts || !neverSent(err)) throw err;
      }
    }
  }
}

/** A unary call that gets no answer in this long fails (a stream has no deadline). */
const CALL_TIMEOUT_MS = 30_000;

function readFile(what: string, file: string | undefined): Buffer | undefined {
  if (!file) return undefined;
  try {
    return fs.readFileSync(file);
  } catch (err) {
    throw new StoreOpenError(`cannot read the etcd ${what} ${file}: ${(err as Error).message}`);
  }
}

/** etcd3's options for these endpoints (already parsed) and TLS files. */
export function clientOptions(endpoints: string[], files: Tls = {}): IOptions {
  const secure = endpoints[0]!.startsWith('https:');
  const ca = readFile('CA file', files.cafile);
  const cert = readFile('certificate', files.certfile);
  const key = readFile('key', files.keyfile);
  if ((ca || cert || key) && !secure)
    throw new StoreOpenError('etcd TLS files are given, but the etcd endpoints are http://, not https://');
  if (!cert !== !key) throw new StoreOpenError('an etcd client certificate needs its key, and a key its certificate');
  return {
    hosts: endpoints,
    // Without a CA file, the system's roots, as for any https URL.
    credentials: secure
      ? { rootCertificate: ca ?? Buffer.from(tls.rootCertificates.join('\n')), certChain: cert, privateKey: key }
      : undefined,
    grpcOptions: {
      // A list of every pod can be far above gRPC's 4 MiB default.
      'grpc.max_receive_message_length': -1,
      // A member that stops answering without closing the connection is noticed; etcd refuses pings under 5 s.
      'grpc.keepalive_time_ms': 30_000,
      'grpc.keepalive_timeout_ms': 10_000,
    },
    defaultCallOptions: (call) => (call.isStream ? {} : { deadline: Date.now() + CALL_TIMEOUT_MS }),
    faultHandling: {
      global: new ResendUnsent(endpoints.length),
      // With one member (a server's own) there is nowhere else to go: etcd3's per-member circuit
      // breaker would only turn a brief error (a leader change) into seconds of refused calls.
      ...(endpoints.length === 1 ? { host: () => new ResendUnsent(1) } : {}),
    },
  };
}
