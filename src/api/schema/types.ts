// The OpenAPI v3 schema shape Skiff works with: the subset of JSON Schema Kubernetes uses, plus its
// x-kubernetes-* extensions that drive strategic merge patch, server-side apply and validation.

export interface SchemaNode {
  $ref?: string; // '#/components/schemas/io.k8s.api.core.v1.Container'
  allOf?: SchemaNode[];
  type?: 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean';
  format?: string; // 'int32', 'int64', 'date-time', 'int-or-string', 'byte', ...
  description?: string;
  properties?: Record<string, SchemaNode>;
  additionalProperties?: SchemaNode | boolean;
  items?: SchemaNode;
  required?: string[];
  enum?: unknown[];
  default?: unknown;
  nullable?: boolean;
  'x-kubernetes-group-version-kind'?: { group: string; version: string; kind: string }[];
  'x-kubernetes-patch-merge-key'?: string;
  /** 'merge', 'replace', 'retainKeys' or 'merge,retainKeys'. */
  'x-kubernetes-patch-strategy'?: string;
  'x-kubernetes-list-type'?: 'atomic' | 'set' | 'map';
  'x-kubernetes-list-map-keys'?: string[];
  'x-kubernetes-map-type'?: 'atomic' | 'granular';
  'x-kubernetes-int-or-string'?: boolean;
  'x-kubernetes-preserve-unknown-fields'?: boolean;
  'x-kubernetes-embedded-resource'?: boolean;
  [extension: `x-${string}`]: unknown;
}

/** Follows `$ref` (and a single-element `allOf` wrapping one) to the node it stands for. */
export type SchemaResolver = (node: SchemaNode) => SchemaNode;
