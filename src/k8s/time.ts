// Timestamps as Kubernetes writes them: Time (RFC 3339, seconds) and MicroTime (microseconds).

export function nowTimestamp(now = new Date()): string {
  return now.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** MicroTime, as Leases and Events carry it. */
export function microTimestamp(now = new Date()): string {
  return now.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}
