// An answer the agent's HTTPS port gives as plain text with an HTTP status (a pod or container
// that is not there, a container that has not started), raised by the kubelet, sent by its server.
export class KubeletError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}
