// Connections from the API server to a node's agent for exec, attach and port-forward: TLS with the
// cluster's kubelet client certificate, and (for the WebSocket translations) a SPDY/3.1 upgrade
// whose refusal becomes a Kubernetes Status for the client.
import tls from 'node:tls';
import { ApiError, type StatusReason } from '../../k8s/errors.js';
import { requestUpgrade } from '../../net/upgrade.js';

export interface NodeTarget {
  nodeName: string;
  host: string;
  port: number;
  /** The API server's kubelet client certificate. */
  cert: { certPem: string; keyPem: string };
}

export async function connectNode(node: NodeTarget): Promise<tls.TLSSocket> {
  // A kubelet's serving certificate is its own; like kube-apiserver by default, do not verify it.
  const socket = tls.connect({
    host: node.host,
    port: node.port,
    cert: node.cert.certPem,
    key: node.cert.keyPem,
    rejectUnauthorized: false,
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('secureConnect', resolve);
    socket.once('error', (err) =>
      reject(
        new ApiError(503, 'ServiceUnavailable', `cannot reach the node ${node.nodeName} at ${node.host}:${node.port}: ${err.message}`),
      ),
    );
  });
  return socket;
}

/** As long as kube-apiserver waits for a SPDY stream to be accepted. */
export const ANSWER_TIMEOUT_MS = 30_000;

const REASONS: Record<number, StatusReason> = {
  400: 'BadRequest',
  403: 'Forbidden',
  404: 'NotFound',
  500: 'InternalError',
  503: 'ServiceUnavailable',
};

/**
 * Upgrades a connection to the node to SPDY/3.1 with one of `protocols` (X-Stream-Protocol-Version)
 * on `path`. Returns the socket, the protocol the node chose and the bytes that followed its answer.
 */
export async function upgradeNodeToSpdy(
  node: NodeTarget,
  path: string,
  protocols: string[],
): Promise<{ socket: tls.TLSSocket; protocol: string; rest: Buffer }> {
  const socket = await connectNode(node);
  // A node that takes the connection but never answers must not hold the client forever.
  socket.setTimeout(ANSWER_TIMEOUT_MS, () => socket.destroy(new Error(`no answer within ${ANSWER_TIMEOUT_MS / 1000} s`)));
  try {
    const answer = await requestUpgrade(socket, {
      method: 'POST',
      path,
      host: `${node.host}:${node.port}`,
      headers: [
        ['Connection', 'Upgrade'],
        ['Upgrade', 'SPDY/3.1'],
        ...protocols.map((p): [string, string] => ['X-Stream-Protocol-Version', p]),
        ['Content-Length', '0'],
      ],
    });
    if (answer.status !== 101) {
      const code = REASONS[answer.status] ? answer.status : 500;
      throw new ApiError(
        code,
        REASONS[code]!,
        answer.body.trim() || `the node ${node.nodeName} answered HTTP ${answer.status} to the upgrade`,
      );
    }
    socket.setTimeout(0);
    return { socket, protocol: answer.headers['x-stream-protocol-version'] ?? '', rest: answer.rest };
  } catch (err) {
    socket.destroy();
    if (err instanceof ApiError) throw err;
    throw new ApiError(503, 'ServiceUnavailable', `the node ${node.nodeName} did not take the stream: ${(err as Error).message}`);
  }
}
