// A CRI v1 client (RuntimeService and ImageService) over gRPC on containerd's unix socket, with
// containerd's own event stream from the same socket. The messages come from src/cri/cri-api.json
// (extracted from containerd's own descriptors by scripts/extract-cri-proto.mjs) and are encoded with
// protobufjs; every unary call has a deadline, and a failure is a CriError that says what failed and
// why, in one line.
import * as grpc from '@grpc/grpc-js';
import protobuf from 'protobufjs';
import criApi from './cri-api.json' with { type: 'json' };
import type {
  Container,
  ContainerStatusResponse,
  ExecSyncResponse,
  Image,
  ImageFsInfoResponse,
  PodSandbox,
  PodSandboxStatusResponse,
  StatusResponse,
  VersionResponse,
} from './messages.js';

const root = protobuf.Root.fromJSON(criApi as protobuf.INamespace);
root.resolveAll();

/** A CRI message: fields in camelCase, enums as their names, 64-bit numbers as numbers (src/cri/messages.ts types the answers). */
export type CriMessage = Record<string, unknown>;

type Service = 'RuntimeService' | 'ImageService';

/** A CRI enum's number by its name (requests carry numbers: names fail verification). */
export function criEnum(
  type: 'NamespaceMode' | 'Protocol' | 'MountPropagation' | 'ContainerState' | 'PodSandboxState',
  name: string,
): number {
  const value = root.lookupEnum(`runtime.v1.${type}`).values[name];
  if (value === undefined) throw new Error(`no ${type} named ${name}`);
  return value;
}

export class CriError extends Error {
  constructor(
    message: string,
    /** The gRPC status code (grpc.status). */
    readonly code: number,
  ) {
    super(message);
  }
}

/** One of containerd's events: where it happened, what (its topic, e.g. /tasks/exit) and its message, decoded. */
export interface ContainerdEvent {
  namespace: string;
  topic: string;
  event: CriMessage;
}

export const isCriNotFound = (err: unknown) => err instanceof CriError && err.code === grpc.status.NOT_FOUND;

const TO_OBJECT: protobuf.IConversionOptions = { longs: Number, enums: String, defaults: true, arrays: true, objects: true };

export interface CriClientOptions {
  /** Deadline of each call (pulling images gets its own, longer one). */
  timeoutMs?: number;
}

export class CriClient {
  private readonly client: grpc.Client;
  private readonly timeoutMs: number;
  readonly target: string;
  /** Calls made, by method (the agent's /metrics). */
  readonly calls = new Map<string, number>();

  /** `endpoint`: a socket path or unix:///path, as K3s's --container-runtime-endpoint takes it. */
  constructor(endpoint: string, opts: CriClientOptions = {}) {
    this.target = endpoint.startsWith('unix:') ? endpoint : `unix://${endpoint}`;
    this.client = new grpc.Client(this.target, grpc.credentials.createInsecure(), { 'grpc.max_receive_message_length': 16 * 1024 * 1024 });
    this.timeoutMs = opts.timeoutMs ?? 10_000;
  }

  close(): void {
    this.client.close();
  }

  /** One unary call: `request` is encoded as the method's request type, the answer decoded. */
  call<R = CriMessage>(service: Service, method: string, request: CriMessage = {}, timeoutMs = this.timeoutMs): Promise<R> {
    const m = (root.lookup(`runtime.v1.${service}`) as protobuf.Service).methods[method];
    if (!m) throw new Error(`no CRI method ${service}.${method}`);
    this.calls.set(method, (this.calls.get(method) ?? 0) + 1);
    const reqType = m.resolvedRequestType!;
    const resType = m.resolvedResponseType!;
    const invalid = reqType.verify(request);
    if (invalid) return Promise.reject(new CriError(`CRI ${method}: invalid request: ${invalid}`, grpc.status.INVALID_ARGUMENT));
    return new Promise((resolve, reject) => {
      this.client.makeUnaryRequest(
        `/runtime.v1.${service}/${method}`,
        (req: CriMessage) => Buffer.from(reqType.encode(reqType.fromObject(req)).finish()),
        (bytes: Buffer) => resType.toObject(resType.decode(bytes), TO_OBJECT),
        request,
        { deadline: Date.now() + timeoutMs },
        (err, res) => (err ? reject(this.error(method, err, timeoutMs)) : resolve(res as R)),
      );
    });
  }

  private error(method: string, err: grpc.ServiceError, timeoutMs: number): CriError {
    if (err.code === grpc.status.UNAVAILABLE)
      return new CriError(`the container runtime is not reachable at ${this.target}: ${err.details}`, err.code);
    if (err.code === grpc.status.DEADLINE_EXCEEDED)
      return new CriError(`CRI ${method} got no answer within ${timeoutMs / 1000} s from ${this.target}`, err.code);
    return new CriError(`CRI ${method}: ${err.details}`, err.code);
  }

  /**
   * containerd's events (its Events service, not the CRI: containerd 1.6 has no CRI event stream)
   * matching any of `filters` (containerd's filter syntax), each decoded by its type; the stream runs
   * until cancelled or until containerd goes away.
   */
  subscribeEvents(filters: string[]): grpc.ClientReadableStream<ContainerdEvent> {
    this.calls.set('Subscribe', (this.calls.get('Subscribe') ?? 0) + 1);
    const reqType = root.lookupType('containerd.services.events.v1.SubscribeRequest');
    const envelope = root.lookupType('containerd.services.events.v1.Envelope');
    return this.client.makeServerStreamRequest(
      '/containerd.services.events.v1.Events/Subscribe',
      (req: CriMessage) => Buffer.from(reqType.encode(reqType.fromObject(req)).finish()),
      (bytes: Buffer) => {
        const e = envelope.decode(bytes) as unknown as { namespace: string; topic: string; event?: { typeUrl: string; value: Uint8Array } };
        // The type URL names the message ("containerd.events.TaskExit", with or without a host part).
        const type = root.lookup(e.event?.typeUrl.split('/').pop() ?? '');
        const event = type instanceof protobuf.Type ? type.toObject(type.decode(e.event!.value), TO_OBJECT) : {};
        return { namespace: e.namespace, topic: e.topic, event };
      },
      { filters },
    );
  }

  // RuntimeService
  version = () => this.call<VersionResponse>('RuntimeService', 'Version', { version: 'v1' });
  status = (verbose = false) => this.call<StatusResponse>('RuntimeService', 'Status', { verbose });
  runPodSandbox = (config: CriMessage, runtimeHandler = '') =>
    this.call<{ podSandboxId: string }>('RuntimeService', 'RunPodSandbox', { config, runtimeHandler }, 4 * this.timeoutMs);
  stopPodSandbox = (podSandboxId: string) => this.call('RuntimeService', 'StopPodSandbox', { podSandboxId });
  removePodSandbox = (podSandboxId: string) => this.call('RuntimeService', 'RemovePodSandbox', { podSandboxId });
  podSandboxStatus = (podSandboxId: string, verbose = false) =>
    this.call<PodSandboxStatusResponse>('RuntimeService', 'PodSandboxStatus', { podSandboxId, verbose });
  listPodSandbox = (filter?: CriMessage) =>
    this.call<{ items: PodSandbox[] }>('RuntimeService', 'ListPodSandbox', { filter }).then((r) => r.items);
  createContainer = (podSandboxId: string, config: CriMessage, sandboxConfig: CriMessage) =>
    this.call<{ containerId: string }>('RuntimeService', 'CreateContainer', { podSandboxId, config, sandboxConfig });
  startContainer = (containerId: string) => this.call('RuntimeService', 'StartContainer', { containerId });
  /** Stops with SIGTERM, then SIGKILL after `timeoutSeconds` (the call waits that long too). */
  stopContainer = (containerId: string, timeoutSeconds: number) =>
    this.call('RuntimeService', 'StopContainer', { containerId, timeout: timeoutSeconds }, timeoutSeconds * 1000 + this.timeoutMs);
  removeContainer = (containerId: string) => this.call('RuntimeService', 'RemoveContainer', { containerId });
  listContainers = (filter?: CriMessage) =>
    this.call<{ containers: Container[] }>('RuntimeService', 'ListContainers', { filter }).then((r) => r.containers);
  containerStatus = (containerId: string, verbose = false) =>
    this.call<ContainerStatusResponse>('RuntimeService', 'ContainerStatus', { containerId, verbose });
  containerStats = (containerId: string) => this.call('RuntimeService', 'ContainerStats', { containerId });
  listContainerStats = (filter?: CriMessage) =>
    this.call('RuntimeService', 'ListContainerStats', { filter }).then((r) => r.stats as CriMessage[]);
  execSync = (containerId: string, cmd: string[], timeoutSeconds = 10) =>
    this.call<ExecSyncResponse>(
      'RuntimeService',
      'ExecSync',
      { containerId, cmd, timeout: timeoutSeconds },
      timeoutSeconds * 1000 + this.timeoutMs,
    );
  /** Streaming URLs on containerd's streaming server, for exec, attach and port-forward. */
  exec = (request: CriMessage) => this.call<{ url: string }>('RuntimeService', 'Exec', request).then((r) => r.url);
  attach = (request: CriMessage) => this.call<{ url: string }>('RuntimeService', 'Attach', request).then((r) => r.url);
  portForward = (podSandboxId: string, port: number[]) =>
    this.call<{ url: string }>('RuntimeService', 'PortForward', { podSandboxId, port }).then((r) => r.url);

  // ImageService
  listImages = (filter?: CriMessage) => this.call<{ images: Image[] }>('ImageService', 'ListImages', { filter }).then((r) => r.images);
  /** The image, or undefined when the runtime does not have it. */
  imageStatus = (image: string) =>
    this.call<{ image: Image | null }>('ImageService', 'ImageStatus', { image: { image } }).then((r) => r.image ?? undefined);
  pullImage = (image: string, sandboxConfig?: CriMessage, timeoutMs = 10 * 60_000) =>
    this.call<{ imageRef: string }>('ImageService', 'PullImage', { image: { image }, sandboxConfig }, timeoutMs).then((r) => r.imageRef);
  removeImage = (image: string) => this.call('ImageService', 'RemoveImage', { image: { image } });
  imageFsInfo = () => this.call<ImageFsInfoResponse>('ImageService', 'ImageFsInfo');
}
