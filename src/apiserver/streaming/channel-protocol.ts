// The Kubernetes channel WebSocket subprotocols (apimachinery wsstream): every message starts with
// the channel it belongs to (exec/attach: 0 stdin, 1 stdout, 2 stderr, 3 error, 4 resize;
// port-forward: 2i data and 2i+1 error of the i-th port), as a byte, or in the base64 variants as an
// ASCII digit in a text message whose rest is base64. v5 adds a close signal: [255, channel].
// The error channel carries a metav1.Status as JSON from v4 on, plain error text before.

export interface ChannelProtocol {
  /** The subprotocol as agreed in the handshake ('' when the client offered none). */
  name: string;
  /** Remote command protocol version: 1 for channel.k8s.io, 5 for v5.channel.k8s.io. */
  version: number;
  base64: boolean;
}

export const CLOSE_CHANNEL = 255;

const EXEC_PROTOCOLS: ChannelProtocol[] = [
  { name: 'v5.channel.k8s.io', version: 5, base64: false },
  { name: 'v4.channel.k8s.io', version: 4, base64: false },
  { name: 'v4.base64.channel.k8s.io', version: 4, base64: true },
  { name: 'v3.channel.k8s.io', version: 3, base64: false },
  { name: 'v2.channel.k8s.io', version: 2, base64: false },
  { name: 'channel.k8s.io', version: 1, base64: false },
  { name: 'base64.channel.k8s.io', version: 1, base64: true },
];

// The kubelet's port-forward WebSocket takes v4 (and, as wsstream does, the unversioned ones);
// 'portforward.k8s.io' is the SPDY protocol's name, taken here as the binary channel framing.
const PORT_FORWARD_PROTOCOLS: ChannelProtocol[] = [
  { name: 'v4.channel.k8s.io', version: 4, base64: false },
  { name: 'v4.base64.channel.k8s.io', version: 4, base64: true },
  { name: 'channel.k8s.io', version: 1, base64: false },
  { name: 'base64.channel.k8s.io', version: 1, base64: true },
  { name: 'portforward.k8s.io', version: 4, base64: false },
];

/** The subprotocols a client offered (Sec-WebSocket-Protocol, comma separated, possibly repeated). */
export function offeredProtocols(header: string | string[] | undefined): string[] {
  const values = Array.isArray(header) ? header : header ? [header] : [];
  return values
    .flatMap((v) => v.split(','))
    .map((p) => p.trim())
    .filter(Boolean);
}

/**
 * The protocol to answer with: the first the client offered that we speak (clients list theirs
 * best first), binary channel.k8s.io semantics when it offered none, or an error text.
 */
export function negotiate(kind: 'exec' | 'portforward', offered: string[]): ChannelProtocol | string {
  const table = kind === 'exec' ? EXEC_PROTOCOLS : PORT_FORWARD_PROTOCOLS;
  if (offered.length === 0) return { name: '', version: kind === 'exec' ? 1 : 4, base64: false };
  for (const name of offered) {
    const p = table.find((t) => t.name === name);
    if (p) return p;
  }
  return `requested protocol(s) are not supported: [${offered.join(' ')}]; supports [${table.map((t) => t.name).join(' ')}]`;
}

/** One WebSocket message for `channel`: a Buffer goes as a binary message, a string as a text one. */
export function encodeMessage(p: ChannelProtocol, channel: number, data: Buffer): Buffer | string {
  if (p.base64) return String.fromCharCode(48 + channel) + data.toString('base64');
  const out = Buffer.allocUnsafe(data.length + 1);
  out[0] = channel;
  data.copy(out, 1);
  return out;
}

/** A client's message as channel and data; undefined for an empty or undecodable one. */
export function decodeMessage(p: ChannelProtocol, msg: Buffer): { channel: number; data: Buffer } | undefined {
  if (msg.length === 0) return undefined;
  if (!p.base64) return { channel: msg[0]!, data: msg.subarray(1) };
  const channel = msg[0]! - 48;
  const text = msg.toString('latin1', 1);
  if (channel < 0 || channel > 9 || !/^[A-Za-z0-9+/]*={0,2}$/.test(text)) return undefined;
  return { channel, data: Buffer.from(text, 'base64') };
}

const SUCCESS = JSON.stringify({ metadata: {}, status: 'Success' });

/**
 * What goes on the error channel at the end, given what the node's (v4) error stream said: from
 * v4 on a Status as JSON (Success when the node said nothing), before that the error's message
 * alone, and nothing at all on success. Undefined: send nothing.
 */
export function finalStatus(p: ChannelProtocol, nodeStatus: string): Buffer | undefined {
  const text = nodeStatus.trim();
  if (p.version >= 4) return Buffer.from(text || SUCCESS);
  if (!text) return undefined;
  let status: { status?: string; message?: string } | undefined;
  try {
    status = JSON.parse(text) as typeof status;
  } catch {
    return Buffer.from(text);
  }
  if (status?.status === 'Success') return undefined;
  return Buffer.from(status?.message ?? text);
}

/** A resize message ({"Width":w,"Height":h}) as the node's resize stream wants it, or undefined. */
export function resizeEvent(data: Buffer): Buffer | undefined {
  try {
    const size = JSON.parse(data.toString('utf8')) as { Width?: unknown; Height?: unknown };
    const w = Number(size.Width ?? 0);
    const h = Number(size.Height ?? 0);
    if (!Number.isInteger(w) || !Number.isInteger(h) || w < 0 || h < 0 || w > 0xffff || h > 0xffff) return undefined;
    return Buffer.from(`${JSON.stringify({ Width: w, Height: h })}\n`);
  } catch {
    return undefined;
  }
}
