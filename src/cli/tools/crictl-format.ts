// crictl's output, as pure functions of what the CRI answered and the time: the tables laid out as
// Go's tabwriter lays out crictl's (minimum width 20, padding 3), times and sizes as docker/go-units
// words them, IDs cut to 13 characters. Facts from kubernetes-sigs/cri-tools, cmd/crictl.
import YAML from 'yaml';
import type { Container, ContainerState, Image, PodSandbox } from '../../cri/messages.js';

/** Lays `rows` out as text/tabwriter with minwidth, padding 3 and spaces: the last cell of a row is not padded. */
export function tabwrite(rows: string[][], minWidth = 20): string {
  const columns = Math.max(0, ...rows.map((r) => r.length - 1));
  const widths = Array.from({ length: columns }, (_, i) =>
    Math.max(minWidth, ...rows.map((r) => (i < r.length - 1 ? r[i]!.length + 3 : 0))),
  );
  return rows.map((r) => `${r.map((cell, i) => (i < r.length - 1 ? cell.padEnd(widths[i]!) : cell)).join('')}\n`).join('');
}

/** go-units' HumanDuration. */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  const minutes = Math.floor(ms / 60_000);
  const hours = Math.floor(ms / 3_600_000 + 0.5);
  if (seconds < 1) return 'Less than a second';
  if (seconds === 1) return '1 second';
  if (seconds < 60) return `${seconds} seconds`;
  if (minutes === 1) return 'About a minute';
  if (minutes < 60) return `${minutes} minutes`;
  if (hours === 1) return 'About an hour';
  if (hours < 48) return `${hours} hours`;
  if (hours < 24 * 7 * 2) return `${Math.floor(hours / 24)} days`;
  if (hours < 24 * 30 * 2) return `${Math.floor(hours / 24 / 7)} weeks`;
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24 / 30)} months`;
  return `${Math.floor(ms / 3_600_000 / 24 / 365)} years`;
}

/** go-units' HumanSizeWithPrecision: decimal units, `precision` significant digits, no trailing zeros. */
export function humanSize(bytes: number, precision = 4): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB', 'PB'];
  let i = 0;
  for (; bytes >= 1000 && i < units.length - 1; i++) bytes /= 1000;
  return `${Number(bytes.toPrecision(precision))}${units[i]}`;
}

const truncatedId = (id: string, prefix = '') => (id.startsWith(prefix) ? id.slice(prefix.length) : id).slice(0, 13);

/** "N minutes ago" for a CRI time in nanoseconds. */
const ago = (nanos: number, now: number) => `${humanDuration(now - nanos / 1e6)} ago`;

const CONTAINER_STATES: Record<ContainerState, string> = {
  CONTAINER_CREATED: 'Created',
  CONTAINER_RUNNING: 'Running',
  CONTAINER_EXITED: 'Exited',
  CONTAINER_UNKNOWN: 'Unknown',
};

const POD_NAME = 'io.kubernetes.pod.name';
const POD_NAMESPACE = 'io.kubernetes.pod.namespace';

export interface TableOptions {
  quiet?: boolean;
  noTrunc?: boolean;
  now?: number;
}

/** Items as `-o json` or `-o yaml` prints them: the CRI list answer. */
export function structured(answer: unknown, output: 'json' | 'yaml'): string {
  return output === 'json' ? `${JSON.stringify(answer, null, 2)}\n` : `${YAML.stringify(answer)}\n`;
}

/** crictl's -q: the whole IDs, one a line. */
const quietIds = (items: { id: string }[]) => items.map((i) => `${i.id}\n`).join('');

export function containersTable(containers: Container[], o: TableOptions = {}): string {
  if (o.quiet) return quietIds(containers);
  const now = o.now ?? Date.now();
  const cut = (id: string) => (o.noTrunc ? id : truncatedId(id));
  const rows = containers.map((c) => {
    let image = c.image?.image ?? '';
    // containerd names the image by its ID (a digest); crictl shortens that like any ID.
    const digest = /^([a-z0-9]+):[a-f0-9]{32,}$/.exec(image);
    if (digest && !o.noTrunc) image = truncatedId(image, `${digest[1]}:`);
    return [
      cut(c.id),
      image,
      ago(c.createdAt, now),
      CONTAINER_STATES[c.state] ?? c.state,
      c.metadata.name,
      String(c.metadata.attempt),
      cut(c.podSandboxId),
      c.labels[POD_NAME] ?? 'unknown',
      c.labels[POD_NAMESPACE] ?? 'unknown',
    ];
  });
  return tabwrite([['CONTAINER', 'IMAGE', 'CREATED', 'STATE', 'NAME', 'ATTEMPT', 'POD ID', 'POD', 'NAMESPACE'], ...rows]);
}

export function podsTable(pods: PodSandbox[], o: TableOptions = {}): string {
  if (o.quiet) return quietIds(pods);
  const now = o.now ?? Date.now();
  const rows = pods.map((p) => [
    o.noTrunc ? p.id : truncatedId(p.id),
    ago(p.createdAt, now),
    p.state === 'SANDBOX_READY' ? 'Ready' : 'NotReady',
    p.metadata.name,
    p.metadata.namespace,
    String(p.metadata.attempt),
    p.runtimeHandler || '(default)',
  ]);
  return tabwrite([['POD ID', 'CREATED', 'STATE', 'NAME', 'NAMESPACE', 'ATTEMPT', 'RUNTIME'], ...rows]);
}

export function imagesTable(images: Image[], o: TableOptions & { digests?: boolean } = {}): string {
  if (o.quiet) return quietIds(images);
  const header = ['IMAGE', 'TAG', ...(o.digests ? ['DIGEST'] : []), 'IMAGE ID', 'SIZE'];
  const rows = images.flatMap((img) => {
    const [repo, digest] = img.repoDigests[0]?.split('@') ?? ['<none>', '<none>'];
    const id = o.noTrunc ? img.id : truncatedId(img.id, 'sha256:');
    const shownDigest = o.noTrunc ? digest! : truncatedId(digest!, 'sha256:');
    // An image pulled by digest has no tag: crictl shows its name and <none>.
    const tags = img.repoTags.length ? img.repoTags : [`${repo}:<none>`];
    return tags.map((tag) => {
      const at = tag.lastIndexOf(':');
      const name = tag.slice(0, at) === '<none>' ? repo! : tag.slice(0, at);
      return [name, tag.slice(at + 1), ...(o.digests ? [shownDigest] : []), id, humanSize(img.size, 3)];
    });
  });
  return tabwrite([header, ...rows]);
}

/** The parts of a CRI ContainerStats that `crictl stats` shows. */
export interface ContainerStats {
  attributes: { id: string; metadata: { name: string } | null } | null;
  cpu: { timestamp: number; usageCoreNanoSeconds: { value: number } | null } | null;
  memory: { workingSetBytes: { value: number } | null } | null;
  writableLayer: { usedBytes: { value: number } | null; inodesUsed: { value: number } | null } | null;
  swap?: { swapUsageBytes: { value: number } | null } | null;
}

/** Two samples a moment apart: CPU % is the use between them; containers without a first sample are left out, as crictl does. */
export function statsTable(before: ContainerStats[], after: ContainerStats[], all = false): string {
  const earlier = new Map(before.map((s) => [s.attributes?.id, s]));
  const rows: string[][] = [];
  for (const s of after) {
    const id = s.attributes?.id ?? '';
    const cpu = s.cpu?.usageCoreNanoSeconds?.value ?? 0;
    const mem = s.memory?.workingSetBytes?.value ?? 0;
    const old = earlier.get(id);
    if ((!all && cpu === 0 && mem === 0) || !old) continue;
    const elapsed = (s.cpu?.timestamp ?? 0) - (old.cpu?.timestamp ?? 0);
    const percent = cpu && elapsed ? ((cpu - (old.cpu?.usageCoreNanoSeconds?.value ?? 0)) / elapsed) * 100 : 0;
    rows.push([
      truncatedId(id),
      s.attributes?.metadata?.name ?? '',
      percent.toFixed(2),
      humanSize(mem),
      humanSize(s.writableLayer?.usedBytes?.value ?? 0),
      String(s.writableLayer?.inodesUsed?.value ?? 0),
      humanSize(s.swap?.swapUsageBytes?.value ?? 0),
    ]);
  }
  return tabwrite([['CONTAINER', 'NAME', 'CPU %', 'MEM', 'DISK', 'INODES', 'SWAP'], ...rows]);
}

/**
 * `crictl inspect`/`inspectp` JSON: the status beside the runtime's verbose info, whose values are
 * JSON objects (parsed) or strings (unquoted); several IDs make a list, one is printed bare.
 */
export function inspection(answers: { status: unknown; info: Record<string, string> }[]): unknown {
  const one = (a: (typeof answers)[number]) => {
    const out: Record<string, unknown> = { status: a.status };
    for (const key of Object.keys(a.info).sort()) {
      const value = a.info[key]!;
      out[key] = value.startsWith('{') ? JSON.parse(value) : value.replace(/^"+|"+$/g, '');
    }
    return out;
  };
  return answers.length === 1 ? one(answers[0]!) : answers.map(one);
}
