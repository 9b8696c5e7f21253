// What a node registers with besides its facts: K3s's --node-label key=value and
// --node-taint key=value:Effect, and the roles of a server's own node.
import type { Taint } from 'kubernetes-types/core/v1.js';
import type { Writable } from '../client/resources.js';

/** K3s marks a server's node with these, which `kubectl get nodes` shows as ROLES. */
export const SERVER_NODE_LABELS = { 'node-role.kubernetes.io/control-plane': 'true', 'node-role.kubernetes.io/master': 'true' };

const KEY = /^([a-z0-9]([-a-z0-9.]*[a-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/;
const EFFECTS = ['NoSchedule', 'PreferNoSchedule', 'NoExecute'];

export function parseNodeLabels(items: string[]): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const item of items) {
    const [key = '', value = ''] = item.split('=', 2);
    if (!item.includes('=') || !KEY.test(key) || !VALUE.test(value))
      throw new Error(`invalid --node-label "${item}": expected key=value with a valid label key and value`);
    labels[key] = value;
  }
  return labels;
}

export function parseNodeTaints(items: string[]): Writable<Taint>[] {
  return items.map((item) => {
    const m = /^([^=:]+)(?:=([^:]*))?:(\w+)$/.exec(item);
    if (!m || !KEY.test(m[1]!) || !VALUE.test(m[2] ?? '') || !EFFECTS.includes(m[3]!))
      throw new Error(`invalid --node-taint "${item}": expected key[=value]:Effect with Effect one of ${EFFECTS.join(', ')}`);
    return { key: m[1]!, ...(m[2] ? { value: m[2] } : {}), effect: m[3]! };
  });
}
