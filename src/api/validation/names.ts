// Name and label syntax checks, with the messages Kubernetes gives for them.
import type { FieldError } from '../../k8s/errors.js';

const SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1035 = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const QUALIFIED_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const CONFIG_KEY = /^[-._a-zA-Z0-9]+$/;

// Kubernetes' messages for them: what is allowed, examples, and the regex (without anchors).
const SUBDOMAIN_MESSAGE =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an " +
  "alphanumeric character (e.g. 'example.com', " +
  "regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const LABEL_MESSAGE =
  "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric " +
  "character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
const DNS1035_MESSAGE =
  "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an " +
  "alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')";
const QUALIFIED_NAME_MESSAGE =
  "a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character " +
  "(e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') " +
  "with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')";
const NAME_PART_MESSAGE =
  "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character " +
  "(e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
const LABEL_VALUE_MESSAGE =
  "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an " +
  "alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', " +
  "regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";
const CONFIG_KEY_MESSAGE =
  "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', " +
  "regex used for validation is '[-._a-zA-Z0-9]+')";

export const quote = (v: unknown) => (typeof v === 'string' ? JSON.stringify(v) : typeof v === 'object' ? JSON.stringify(v) : String(v));

export const invalidValue = (field: string, value: unknown, why: string): FieldError => ({
  field,
  type: 'FieldValueInvalid',
  detail: `Invalid value: ${quote(value)}: ${why}`,
});
export const required = (field: string, why?: string): FieldError => ({
  field,
  type: 'FieldValueRequired',
  detail: why ? `Required value: ${why}` : 'Required value',
});
export const forbidden = (field: string, why: string): FieldError => ({ field, type: 'FieldValueForbidden', detail: `Forbidden: ${why}` });
export const duplicate = (field: string, value: unknown): FieldError => ({
  field,
  type: 'FieldValueDuplicate',
  detail: `Duplicate value: ${quote(value)}`,
});
export const notSupported = (field: string, value: unknown, supported: string[]): FieldError => ({
  field,
  type: 'FieldValueNotSupported',
  detail: `Unsupported value: ${quote(value)}: supported values: ${supported.map((s) => `"${s}"`).join(', ')}`,
});

export type NameRule = (name: string) => string[];

const tooLong = (max: number) => `must be no more than ${max} characters`;

export const dns1123Subdomain: NameRule = (v) => [
  ...(v.length > 253 ? [tooLong(253)] : []),
  ...(SUBDOMAIN.test(v) ? [] : [SUBDOMAIN_MESSAGE]),
];

export const dns1123Label: NameRule = (v) => [...(v.length > 63 ? [tooLong(63)] : []), ...(LABEL.test(v) ? [] : [LABEL_MESSAGE])];

export const dns1035Label: NameRule = (v) => [...(v.length > 63 ? [tooLong(63)] : []), ...(DNS1035.test(v) ? [] : [DNS1035_MESSAGE])];

/** RBAC objects and a few others only need to be usable as one URL path segment. */
export const pathSegment: NameRule = (v) => {
  if (v === '.' || v === '..') return [`may not be '${v}'`];
  const bad = ['/', '%'].find((c) => v.includes(c));
  return bad ? [`may not contain '${bad}'`] : [];
};

/** Label and annotation keys: an optional DNS subdomain prefix and a name. */
export function qualifiedName(v: string): string[] {
  const parts = v.split('/');
  if (parts.length > 2) return [QUALIFIED_NAME_MESSAGE];
  const name = parts.at(-1)!;
  const errs: string[] = [];
  if (parts.length === 2) {
    if (parts[0] === '') errs.push('prefix part must be non-empty');
    else errs.push(...dns1123Subdomain(parts[0]!).map((e) => `prefix part ${e}`));
  }
  if (name === '') errs.push('name part must be non-empty');
  else if (name.length > 63) errs.push(`name part ${tooLong(63)}`);
  if (name !== '' && !QUALIFIED_NAME.test(name)) errs.push(NAME_PART_MESSAGE);
  return errs;
}

export function labelValue(v: string): string[] {
  return [...(v.length > 63 ? [tooLong(63)] : []), ...(LABEL_VALUE.test(v) ? [] : [LABEL_VALUE_MESSAGE])];
}

export function configKey(v: string): string[] {
  return [...(v.length > 253 ? [tooLong(253)] : []), ...(CONFIG_KEY.test(v) ? [] : [CONFIG_KEY_MESSAGE])];
}

/** Field errors for `value` under `field`, one per broken rule. */
export const check = (field: string, value: string, rule: NameRule): FieldError[] =>
  rule(value).map((why) => invalidValue(field, value, why));
