// Kubernetes resource quantities ("100m", "1.5Gi", "2e3") as numbers in base units.
import { badRequest } from './errors.js';

const SUFFIX: Record<string, number> = {
  '': 1,
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

export function parseQuantity(text: string | number): number {
  if (typeof text === 'number') return text;
  const m = /^([+-]?(?:\d+\.?\d*|\.\d+))(?:([eE][+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE])?)$/.exec(text.trim());
  if (!m) throw badRequest(`quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$': "${text}"`);
  const value = Number(m[1]);
  return m[2] ? value * 10 ** Number(m[2].slice(1)) : value * SUFFIX[m[3] ?? '']!;
}

/** A quantity in thousandths, rounded up, as Kubernetes' MilliValue (CPU is compared in millicores). */
export const milliValue = (text: string | number) => Math.ceil(parseQuantity(text) * 1000 - 1e-9);
