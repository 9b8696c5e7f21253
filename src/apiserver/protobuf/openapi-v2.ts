// The swagger 2.0 document in gnostic's OpenAPIv2 protobuf form, which kubectl before 1.27 (Debian's
// 1.20 among them) asks /openapi/v2 for and needs for `apply` validation and `explain`. Only the
// messages a Kubernetes document uses are declared, with gnostic's field numbers (package openapi.v2).
// Vendor extensions and default/enum values travel as YAML text, as gnostic carries them.
import protobuf from 'protobufjs';
import { stringify } from 'yaml';

/** What kubectl asks for; the answer is labelled without the `@`, which Go's mime parser rejects. */
export const OPENAPI_V2_PROTOBUF = 'application/com.github.proto-openapi.spec.v2@v1.0+protobuf';
export const OPENAPI_V2_PROTOBUF_ANSWER = 'application/com.github.proto-openapi.spec.v2.v1.0+protobuf';

const field = (type: string, id: number, rule?: 'repeated') => ({ type, id, ...(rule ? { rule } : {}) });
const named = (value: string) => ({ fields: { name: field('string', 1), value: field(value, 2) } });

const root = protobuf.Root.fromJSON({
  nested: {
    Document: {
      fields: { swagger: field('string', 1), info: field('Info', 2), paths: field('Paths', 8), definitions: field('Definitions', 9) },
    },
    Info: { fields: { title: field('string', 1), version: field('string', 2) } },
    Paths: { fields: { path: field('NamedPathItem', 2, 'repeated') } },
    NamedPathItem: named('PathItem'),
    PathItem: { fields: {} },
    Definitions: { fields: { additionalProperties: field('NamedSchema', 1, 'repeated') } },
    Properties: { fields: { additionalProperties: field('NamedSchema', 1, 'repeated') } },
    NamedSchema: named('Schema'),
    NamedAny: named('Any'),
    Any: { fields: { yaml: field('string', 2) } },
    TypeItem: { fields: { value: field('string', 1, 'repeated') } },
    ItemsItem: { fields: { schema: field('Schema', 1, 'repeated') } },
    AdditionalPropertiesItem: {
      oneofs: { oneof: { oneof: ['schema', 'boolean'] } },
      fields: { schema: field('Schema', 1), boolean: field('bool', 2) },
    },
    Schema: {
      fields: {
        ref: field('string', 1),
        format: field('string', 2),
        title: field('string', 3),
        description: field('string', 4),
        default: field('Any', 5),
        maximum: field('double', 7),
        minimum: field('double', 9),
        maxLength: field('int64', 11),
        minLength: field('int64', 12),
        pattern: field('string', 13),
        maxItems: field('int64', 14),
        minItems: field('int64', 15),
        required: field('string', 19, 'repeated'),
        enum: field('Any', 20, 'repeated'),
        additionalProperties: field('AdditionalPropertiesItem', 21),
        type: field('TypeItem', 22),
        items: field('ItemsItem', 23),
        allOf: field('Schema', 24, 'repeated'),
        properties: field('Properties', 25),
        readOnly: field('bool', 27),
        vendorExtension: field('NamedAny', 31, 'repeated'),
      },
    },
  },
});

/** A swagger 2.0 schema, as the server's document writes them. */
interface SwaggerSchema {
  $ref?: string;
  readOnly?: boolean;
  default?: unknown;
  enum?: unknown[];
  type?: string | string[];
  items?: SwaggerSchema | SwaggerSchema[];
  allOf?: SwaggerSchema[];
  properties?: Record<string, SwaggerSchema>;
  additionalProperties?: boolean | SwaggerSchema;
  [key: string]: unknown;
}

interface SwaggerDocument {
  swagger?: string;
  info?: { title?: string; version?: string };
  definitions?: Record<string, SwaggerSchema>;
}

/** The fields of a protobuf message, for protobufjs' fromObject. */
type Message = Record<string, unknown>;

const any = (value: unknown) => ({ yaml: stringify(value) });

/** One JSON schema as a gnostic Schema message (fields it has no slot for are left out). */
function schema(s: SwaggerSchema): Message {
  const out: Message = {};
  const copy = [
    'format',
    'title',
    'description',
    'maximum',
    'minimum',
    'maxLength',
    'minLength',
    'pattern',
    'maxItems',
    'minItems',
    'required',
  ];
  for (const key of copy) if (s[key] !== undefined) out[key] = s[key];
  if (s.$ref) out.ref = s.$ref;
  if (s.readOnly) out.readOnly = true;
  if (s.default !== undefined) out.default = any(s.default);
  if (s.enum) out.enum = s.enum.map(any);
  if (s.type) out.type = { value: Array.isArray(s.type) ? s.type : [s.type] };
  if (s.items) out.items = { schema: (Array.isArray(s.items) ? s.items : [s.items]).map(schema) };
  if (s.allOf) out.allOf = s.allOf.map(schema);
  if (s.properties) out.properties = { additionalProperties: namedSchemas(s.properties) };
  if (typeof s.additionalProperties === 'boolean') out.additionalProperties = { boolean: s.additionalProperties };
  else if (s.additionalProperties) out.additionalProperties = { schema: schema(s.additionalProperties) };
  const extensions = Object.entries(s).filter(([k]) => k.startsWith('x-'));
  if (extensions.length) out.vendorExtension = extensions.map(([name, value]) => ({ name, value: any(value) }));
  return out;
}

const namedSchemas = (map: Record<string, SwaggerSchema>) => Object.entries(map).map(([name, value]) => ({ name, value: schema(value) }));

/** Encodes a swagger 2.0 document (paths are not carried: kubectl reads only the definitions). */
export function encodeOpenApiV2(doc: SwaggerDocument): Uint8Array<ArrayBuffer> {
  const Document = root.lookupType('Document');
  const message = Document.fromObject({
    swagger: doc.swagger,
    info: doc.info,
    paths: { path: [] },
    definitions: { additionalProperties: namedSchemas(doc.definitions ?? {}) },
  });
  return new Uint8Array(Document.encode(message).finish());
}
