// Running the handlers that probes and lifecycle hooks name: exec (through CRI), httpGet, tcpSocket
// and grpc (the standard grpc.health.v1 check). Each answers ok or not with a message, never throws.
import * as grpc from '@grpc/grpc-js';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import type { Container, ExecAction, GRPCAction, HTTPGetAction, TCPSocketAction } from 'kubernetes-types/core/v1.js';
import type { CriClient } from '../../cri/client.js';
import type { Writable } from '../../client/resources.js';

/** grpc.health.v1 HealthCheckResponse's ServingStatus names, by number. */
const SERVING_STATUS = ['UNKNOWN', 'SERVING', 'NOT_SERVING', 'SERVICE_UNKNOWN'];

export interface Handler {
  exec?: Writable<ExecAction>;
  httpGet?: Writable<HTTPGetAction>;
  tcpSocket?: Writable<TCPSocketAction>;
  grpc?: Writable<GRPCAction>;
}

export interface HandlerTarget {
  cri: CriClient;
  containerId: string;
  container: Writable<Container>;
  podIP: string;
}

export interface HandlerResult {
  ok: boolean;
  message: string;
}

/** A port given by number or by the name of one of the container's ports. */
function portOf(port: number | string, container: Writable<Container>): number {
  if (typeof port === 'number') return port;
  if (/^\d+$/.test(port)) return Number(port);
  const named = container.ports?.find((p) => p.name === port);
  if (!named) throw new Error(`port "${port}" is not a named port of container ${container.name}`);
  return named.containerPort;
}

function httpGet(action: Writable<HTTPGetAction>, t: HandlerTarget, timeoutMs: number): Promise<HandlerResult> {
  const host = action.host || t.podIP;
  const port = portOf(action.port as number | string, t.container);
  const secure = action.scheme === 'HTTPS';
  const headers: Record<string, string> = { 'user-agent': 'kube-probe/1.32', accept: '*/*' };
  for (const h of action.httpHeaders ?? []) headers[h.name.toLowerCase()] = h.value;
  return new Promise((resolve) => {
    const req = (secure ? https : http).get(
      { host, port, path: action.path || '/', headers, timeout: timeoutMs, rejectUnauthorized: false },
      (res) => {
        res.resume();
        const code = res.statusCode ?? 0;
        resolve(
          code >= 200 && code < 400 ? { ok: true, message: '' } : { ok: false, message: `HTTP probe failed with statuscode: ${code}` },
        );
      },
    );
    req.on('timeout', () => req.destroy(new Error(`context deadline exceeded (Client.Timeout exceeded while awaiting headers)`)));
    req.on('error', (err) =>
      resolve({ ok: false, message: `Get "${secure ? 'https' : 'http'}://${host}:${port}${action.path || '/'}": ${err.message}` }),
    );
  });
}

function tcpSocket(action: Writable<TCPSocketAction>, t: HandlerTarget, timeoutMs: number): Promise<HandlerResult> {
  const host = action.host || t.podIP;
  const port = portOf(action.port as number | string, t.container);
  return new Promise((resolve) => {
    const socket = net.connect({ host, port, timeout: timeoutMs }, () => {
      socket.destroy();
      resolve({ ok: true, message: '' });
    });
    socket.on('timeout', () => socket.destroy(new Error('i/o timeout')));
    socket.on('error', (err) => resolve({ ok: false, message: `dial tcp ${host}:${port}: ${err.message}` }));
  });
}

/** grpc.health.v1.Health/Check: request { service = 1 }, answer { status = 1 } where 1 is SERVING. */
function grpcCheck(action: Writable<GRPCAction>, t: HandlerTarget, timeoutMs: number): Promise<HandlerResult> {
  const target = `${t.podIP}:${action.port}`;
  const client = new grpc.Client(target, grpc.credentials.createInsecure());
  const service = Buffer.from(action.service ?? '');
  const request = service.length ? Buffer.concat([Buffer.from([0x0a, service.length]), service]) : Buffer.alloc(0);
  return new Promise((resolve) => {
    client.makeUnaryRequest(
      '/grpc.health.v1.Health/Check',
      (b: Buffer) => b,
      (b: Buffer) => b,
      request,
      { deadline: Date.now() + timeoutMs },
      (err, answer) => {
        client.close();
        if (err) {
          // grpc-js explains at length; the last connection error is the part that says why.
          const why = /Last error: (?:Error: )?([^\n]*?)\.? Resolution note/.exec(err.details)?.[1] ?? err.details;
          return resolve({ ok: false, message: `failed to connect service "${target}" within ${timeoutMs / 1000}s: ${why}` });
        }
        const status = answer && answer[0] === 0x08 ? answer[1] : 0;
        resolve(
          status === 1
            ? { ok: true, message: '' }
            : {
                ok: false,
                message: `service unhealthy (responded with "${SERVING_STATUS[status ?? 0] ?? status}")`,
              },
        );
      },
    );
  });
}

async function exec(action: Writable<ExecAction>, t: HandlerTarget, timeoutMs: number): Promise<HandlerResult> {
  const answer = await t.cri.execSync(t.containerId, action.command ?? [], Math.max(1, Math.ceil(timeoutMs / 1000)));
  if (answer.exitCode === 0) return { ok: true, message: '' };
  const output = Buffer.concat([Buffer.from(answer.stdout ?? []), Buffer.from(answer.stderr ?? [])])
    .toString()
    .trim();
  return { ok: false, message: `command ${JSON.stringify((action.command ?? []).join(' '))} exited with ${answer.exitCode}: ${output}` };
}

export async function runHandler(handler: Handler, t: HandlerTarget, timeoutMs: number): Promise<HandlerResult> {
  try {
    if (handler.exec) return await exec(handler.exec, t, timeoutMs);
    if (handler.httpGet) return await httpGet(handler.httpGet, t, timeoutMs);
    if (handler.tcpSocket) return await tcpSocket(handler.tcpSocket, t, timeoutMs);
    if (handler.grpc) return await grpcCheck(handler.grpc, t, timeoutMs);
    return { ok: false, message: 'the handler names no action' };
  } catch (err) {
    return { ok: false, message: (err as Error).message };
  }
}
