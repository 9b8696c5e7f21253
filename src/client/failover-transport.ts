// A transport over several API servers of one cluster (same CA, same client credentials), as an agent
// uses in a cluster with more than one server: requests go to one server at a time, and when it
// cannot be reached they move on to the next.
//
// - A failure below HTTP (refused, unreachable, reset, no TLS connection within connectTimeoutMs, no
//   answer within answerTimeoutMs) marks the server failed, closes every connection to it (watches on
//   it end with an error, and informers list and watch again, here, on a live server) and makes the
//   next server current. An HTTP answer, 4xx or 5xx included, is the server's answer and returned as is.
// - The failed request is repeated on the next server, once per server, when that is safe: when it
//   never reached a server (its connection was never made: nothing was sent), or when it is a read
//   (GET, HEAD). A write that went out on a connection which then broke may have been applied, and
//   repeating it could apply it twice or answer 409/404 for a write that worked: it fails instead,
//   and its caller (who retries through a fresh read, as every loop here does) decides.
// - Which server next: healthy ones first, in the list's order (the configured --server first), then
//   those that failed, longest ago first; a failure older than retryFailedAfterMs is forgotten. The
//   transport does not move back to the configured server while the current one works: every server
//   serves the same datastore, and a move closes the node's watches and makes every informer list
//   again, for nothing gained.
import type { ClientRequest } from 'node:http';
import type https from 'node:https';
import type { TLSSocket } from 'node:tls';
import { log } from '../log.js';
import { credentialedAgent, type HttpsTarget, httpsRequest, type Transport, type TransportRequest } from './transport.js';

export interface FailoverOptions {
  /** How long a TCP and TLS connection may take before the server is left (default 3 s). */
  connectTimeoutMs?: number;
  /** How long a server may take to answer a request once sent (its headers; default 15 s): a paused server keeps connections open. */
  answerTimeoutMs?: number;
  /** How long a failed server is tried only after the others (default 30 s). */
  retryFailedAfterMs?: number;
}

/** A request no server answered. `mayHaveArrived`: the last server tried may have acted on it. */
export class ServerUnreachableError extends Error {
  constructor(
    message: string,
    readonly mayHaveArrived: boolean,
  ) {
    super(message);
  }
}

/** A failure below HTTP on one server, and whether the request may have reached it. */
class ConnectionFailure extends Error {
  constructor(
    readonly server: string,
    readonly mayHaveArrived: boolean,
    cause: Error,
  ) {
    super(`${server}: ${cause.message}`);
  }
}

/** Methods without side effects: repeated on another server even when the first may have seen them. */
const REPEATABLE = new Set(['GET', 'HEAD']);

export class FailoverTransport {
  private current: string;
  private readonly failedAt = new Map<string, number>();
  private readonly agents = new Map<string, () => https.Agent>();
  private readonly connectTimeoutMs: number;
  private readonly answerTimeoutMs: number;
  private readonly retryFailedAfterMs: number;

  /**
   * `servers` is asked at every failover (it may change as servers come and go); its first entry is
   * where requests go first. Credentials swapped in `credentials` are used from the next request on.
   */
  constructor(
    private readonly credentials: Omit<HttpsTarget, 'server'>,
    private readonly servers: () => readonly string[],
    opts: FailoverOptions = {},
  ) {
    const first = servers()[0];
    if (!first) throw new Error('a failover transport needs at least one server');
    this.current = first;
    this.connectTimeoutMs = opts.connectTimeoutMs ?? 3000;
    this.answerTimeoutMs = opts.answerTimeoutMs ?? 15_000;
    this.retryFailedAfterMs = opts.retryFailedAfterMs ?? 30_000;
  }

  /** The server requests go to now. */
  get server(): string {
    return this.current;
  }

  readonly request: Transport = async (method, path, init = {}) => {
    const tried = new Set<string>();
    const failures: string[] = [];
    for (let server = this.current; ; ) {
      tried.add(server);
      try {
        const res = await this.send(server, method, path, init);
        this.answered(server);
        return res;
      } catch (err) {
        if (!(err instanceof ConnectionFailure)) throw err;
        this.failed(server, err.message);
        failures.push(err.message);
        if (err.mayHaveArrived && !REPEATABLE.has(method))
          throw new ServerUnreachableError(
            `${method} ${path}: ${err.message}; it may have reached the server, so it is not repeated on another`,
            true,
          );
      }
      const next = this.ranked().find((s) => !tried.has(s));
      if (!next) throw new ServerUnreachableError(`${method} ${path}: no API server answered: ${failures.join('; ')}`, false);
      server = next;
    }
  };

  /** Closes every connection (the agent stops). */
  close(): void {
    for (const server of [...this.agents.keys()]) this.disconnect(server);
  }

  /** Healthy servers first (the current one, then in the list's order), then failed ones, longest ago first. */
  private ranked(): string[] {
    const now = Date.now();
    const failedRecently = (s: string) => now - (this.failedAt.get(s) ?? -Infinity) < this.retryFailedAfterMs;
    const all = [...new Set([this.current, ...this.servers()])];
    const failed = all.filter(failedRecently).sort((a, b) => this.failedAt.get(a)! - this.failedAt.get(b)!);
    return [...all.filter((s) => !failedRecently(s)), ...failed];
  }

  private failed(server: string, reason: string): void {
    this.failedAt.set(server, Date.now());
    this.disconnect(server);
    if (server !== this.current) return;
    const next = this.ranked().find((s) => s !== server);
    if (next) this.switchTo(next, reason);
  }

  private answered(server: string): void {
    this.failedAt.delete(server);
    // Another request moved away from the current server in the meantime, but this one works.
    if (server !== this.current && this.failedAt.has(this.current)) this.switchTo(server, `${this.current} failed`);
  }

  private switchTo(server: string, reason: string): void {
    log.warn({ from: this.current, to: server, reason }, `API server ${this.current} unreachable, switching to ${server}`);
    this.current = server;
  }

  private disconnect(server: string): void {
    this.agents.get(server)?.().destroy();
    this.agents.delete(server);
  }

  private send(server: string, method: string, path: string, init: TransportRequest): Promise<Response> {
    let agent = this.agents.get(server);
    if (!agent) this.agents.set(server, (agent = credentialedAgent(this.credentials)));
    let sent = false;
    const timed = (req: ClientRequest) => {
      const fail = (what: string, ms: number) => () => req.destroy(new Error(`${what} within ${ms / 1000} s`));
      const timers: NodeJS.Timeout[] = [];
      let settled = false;
      const markSent = () => {
        sent = true;
        if (!settled) timers.push(setTimeout(fail('no answer', this.answerTimeoutMs), this.answerTimeoutMs));
      };
      const clear = () => {
        settled = true;
        timers.forEach(clearTimeout);
      };
      req.once('response', clear);
      req.once('close', clear);
      req.once('socket', (socket) => {
        // A kept-alive connection takes the request at once; a new one only once TLS is up.
        if (req.reusedSocket) return markSent();
        const connect = setTimeout(fail('no connection', this.connectTimeoutMs), this.connectTimeoutMs);
        timers.push(connect);
        (socket as TLSSocket).once('secureConnect', () => {
          clearTimeout(connect);
          markSent();
        });
      });
    };
    return httpsRequest(agent(), new URL(server), this.credentials.token, method, path, init, timed).catch((err: Error) => {
      // The caller gave up: not the server's fault.
      if (init.signal?.aborted) throw err;
      throw new ConnectionFailure(server, sent, err);
    });
  }
}
