// Timestamps as Kubernetes writes them: Time (RFC 3339, seconds) and MicroTime (microseconds).

// toISOString is YYYY-MM-DDTHH:MM:SS.mmmZ for every year Kubernetes writes: slicing beats a regex on every write.
export function nowTimestamp(now = new Date()): string {
  return `${now.toISOString().slice(0, 19)}Z`;
}

/** MicroTime, as Leases and Events carry it. */
export function microTimestamp(now = new Date()): string {
  return `${now.toISOString().slice(0, 23)}000Z`;
}
