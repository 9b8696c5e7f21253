// Node capacity and usage as a person reads them: CPU in millicores or cores, memory in binary
// units, usage with its share of capacity (as `kubectl top nodes`).
import { parseQuantity } from '../k8s/quantity.js';

/** "250m" under one core, else cores with two decimals ("2" or "1.25"). */
export function formatCpu(quantity: string): string {
  const cores = parseQuantity(quantity);
  return cores < 1 ? `${Math.round(cores * 1000)}m` : `${Number(cores.toFixed(2))}`;
}

/** Bytes in the largest binary unit that keeps the number at least 1 ("512Mi", "23.5Gi"). */
export function formatBytes(quantity: string): string {
  let value = parseQuantity(quantity);
  for (const unit of ['', 'Ki', 'Mi', 'Gi', 'Ti']) {
    if (value < 1024 || unit === 'Ti') return `${Number(value.toFixed(1))}${unit}`;
    value /= 1024;
  }
  return quantity;
}

/** Usage with its share of capacity: "250m (12%)"; the usage alone without a capacity. */
export function withShare(used: string, capacity: string | undefined, format: (q: string) => string): string {
  if (!capacity || !parseQuantity(capacity)) return format(used);
  return `${format(used)} (${Math.round((parseQuantity(used) / parseQuantity(capacity)) * 100)}%)`;
}
