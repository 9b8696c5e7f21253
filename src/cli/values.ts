// Parsing one flag value from text (command line, environment) or YAML (config file).
import type { FlagSpec } from './flags.js';

export class UsageError extends Error {}

/** Why a file the user named cannot be read, in a few words. */
export function whyUnreadable(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  if (e.code === 'ENOENT') return 'no such file';
  if (e.code === 'EISDIR') return 'it is a directory';
  if (e.code === 'EACCES') return 'permission denied';
  return e.message;
}

const oneOf = (choices: readonly string[]) => `one of ${choices.join(', ')}`;

function isIPv4(text: string): boolean {
  const m = text.match(/^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/);
  return !!m && m.slice(1).every((o) => Number(o) <= 255);
}

export type FlagValue = string | boolean | number | string[];

export function parseFlagValue(spec: FlagSpec, raw: unknown, origin: string): FlagValue {
  const bad = (why: string): never => {
    throw new UsageError(`invalid value ${JSON.stringify(raw)} for --${spec.name} (${origin}): ${why}`);
  };
  switch (spec.kind) {
    case 'bool':
      if (typeof raw === 'boolean') return raw;
      if (typeof raw === 'string' && /^(true|1|yes)$/i.test(raw)) return true;
      if (typeof raw === 'string' && /^(false|0|no|)$/i.test(raw)) return false;
      return bad('expected true or false');
    case 'port': {
      const n = typeof raw === 'number' ? raw : /^\d+$/.test(String(raw)) ? Number(raw) : NaN;
      if (!Number.isInteger(n) || n < 1 || n > 65535) bad('expected a port number from 1 to 65535');
      return n;
    }
    case 'mode': {
      // YAML reads 0644 as the decimal 644; both spellings mean octal here.
      const text = String(raw);
      if (!/^0?[0-7]{3}$/.test(text)) bad('expected an octal file mode such as 0600');
      return parseInt(text, 8);
    }
    case 'list': {
      // Repeated flags and comma-separated values alike, as K3s's string slices.
      const items = (Array.isArray(raw) ? raw.map(String) : [String(raw)])
        .flatMap((s) => s.split(','))
        .map((s) => s.trim())
        .filter((s) => s !== '');
      for (const item of items) if (spec.choices && !spec.choices.includes(item)) bad(`"${item}" is not ${oneOf(spec.choices)}`);
      return items;
    }
    case 'ip':
      if (!isIPv4(String(raw))) bad('expected an IPv4 address such as 10.43.0.10');
      return String(raw);
    case 'port-range': {
      const m = String(raw).match(/^(\d+)-(\d+)$/);
      const [from, to] = [Number(m?.[1]), Number(m?.[2])];
      if (!m || from < 1 || to > 65535 || from > to) bad('expected a port range such as 30000-32767');
      return String(raw);
    }
    case 'url': {
      const text = String(raw);
      let url: URL;
      try {
        url = new URL(text);
      } catch {
        return bad('expected a URL such as https://server:6443');
      }
      if (url.protocol !== 'https:') bad('the server URL must use https');
      return text;
    }
    case 'cidr': {
      const m = String(raw).match(/^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/);
      const ok = m?.slice(1, 5).every((o) => Number(o) <= 255) && Number(m[5]) >= 8 && Number(m[5]) <= 30;
      if (!ok) bad('expected an IPv4 range such as 10.43.0.0/16 (prefix /8 to /30)');
      return String(raw);
    }
    case 'string':
      if (typeof raw === 'object' && raw !== null) bad('expected a single value');
      if (String(raw) === '') bad('must not be empty');
      if (spec.choices && !spec.choices.includes(String(raw))) bad(`expected ${oneOf(spec.choices)}`);
      return String(raw);
  }
}
