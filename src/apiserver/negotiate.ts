// What representation the client asked for in Accept: a plain object or list, a Table (kubectl get),
// or metadata only (PartialObjectMetadata, for metadata informers).
export type Representation = 'object' | 'table' | 'metadata';

export function representation(accept: string | null | undefined): Representation {
  for (const entry of (accept ?? '').split(',')) {
    const params = new Map(
      entry
        .split(';')
        .slice(1)
        .map((p) => p.trim().split('=') as [string, string]),
    );
    if (params.get('g') !== 'meta.k8s.io') {
      if (entry.trim().startsWith('application/json') || entry.trim().startsWith('*/*')) return 'object';
      continue;
    }
    const as = params.get('as');
    if (as === 'Table') return 'table';
    if (as === 'PartialObjectMetadata' || as === 'PartialObjectMetadataList') return 'metadata';
  }
  return 'object';
}

export function jsonResponse(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return jsonTextResponse(JSON.stringify(body), status, headers);
}

/** A JSON body already serialized (the watch cache's objects are, once per revision). */
export function jsonTextResponse(json: string | Uint8Array<ArrayBuffer>, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(json, { status, headers: { 'content-type': 'application/json', ...headers } });
}
