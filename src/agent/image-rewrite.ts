// registries.yaml's `rewrite:` (K3s patches its containerd for it; stock containerd 1.6 has none).
// The agent does it around the CRI pull: for an image whose registry's mirror has a matching rule, it
// pulls `<endpoint host>/<rewritten repository>` from each mirror endpoint in turn, tags the result
// with the name the pod asked for (through containerd's `ctr`, which the CRI plugin hears of), and
// drops the rewritten name. If no endpoint has it, the image is pulled as named, without rewrites (K3s
// does not rewrite pulls from the registry itself either).
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { CriClient, CriMessage } from '../cri/client.js';
import { sleep } from '../client/sleep.js';
import { log } from '../log.js';
import type { Registries } from './registries.js';

const run = promisify(execFile);

export interface ImageName {
  registry: string;
  /** The repository path, with docker.io's implicit `library/`. */
  repository: string;
  /** `:tag` and/or `@digest`, as written. */
  suffix: string;
}

export function parseImageName(image: string): ImageName {
  const at = image.indexOf('@');
  let name = at >= 0 ? image.slice(0, at) : image;
  let suffix = at >= 0 ? image.slice(at) : '';
  const colon = name.lastIndexOf(':');
  if (colon > name.lastIndexOf('/')) {
    suffix = name.slice(colon) + suffix;
    name = name.slice(0, colon);
  }
  const slash = name.indexOf('/');
  const first = slash >= 0 ? name.slice(0, slash) : '';
  // As in the docker reference grammar: a first component with a dot or port, or localhost, is a registry.
  if (first && (first.includes('.') || first.includes(':') || first === 'localhost'))
    return { registry: first, repository: name.slice(slash + 1), suffix };
  return { registry: 'docker.io', repository: name.includes('/') ? name : `library/${name}`, suffix };
}

/** The full name containerd stores an image under (docker.io/library/busybox:latest for busybox). */
export function normalizedName(image: string): string {
  const { registry, repository, suffix } = parseImageName(image);
  return `${registry}/${repository}${suffix || ':latest'}`;
}

/** The names to try for `image` at the mirror endpoints, when a rewrite rule applies; else none. */
export function rewrittenNames(r: Registries, image: string): string[] {
  const { registry, repository, suffix } = parseImageName(image);
  const mirror = r.mirrors[registry] ?? r.mirrors['*'];
  if (!mirror) return [];
  const rule = Object.entries(mirror.rewrite).find(([re]) => new RegExp(re).test(repository));
  if (!rule) return [];
  // Go's ${1} is JavaScript's $1.
  const rewritten = repository.replace(
    new RegExp(rule[0]),
    rule[1].replace(/\$\{(\w+)\}/g, (_, g: string) => (/^\d+$/.test(g) ? `$${g}` : `$<${g}>`)),
  );
  const names: string[] = [];
  for (const endpoint of mirror.endpoints) {
    const url = new URL(endpoint);
    // An endpoint with an API root of its own has no image name that reaches it.
    if (url.pathname !== '/' && url.pathname !== '' && !/^\/v2\/?$/.test(url.pathname)) continue;
    names.push(`${url.host}/${rewritten}${suffix || ':latest'}`);
  }
  return names;
}

export const hasRewrites = (r: Registries) => Object.values(r.mirrors).some((m) => Object.keys(m.rewrite).length > 0);

/** `cri`, whose pullImage applies the rewrites of `r`; `socket` is containerd's, for `ctr`. */
export function withRewrites(cri: CriClient, socket: string, r: Registries): CriClient {
  if (!hasRewrites(r)) return cri;
  const wrapped = Object.create(cri) as CriClient;
  wrapped.pullImage = async (image: string, sandboxConfig?: CriMessage, timeoutMs?: number) => {
    const errors: string[] = [];
    for (const name of rewrittenNames(r, image)) {
      try {
        const existed = await cri.imageStatus(name);
        const ref = await cri.pullImage(name, sandboxConfig, timeoutMs);
        const ctr = (...args: string[]) => run('ctr', ['-a', socket, '-n', 'k8s.io', 'images', ...args]);
        await ctr('tag', '--force', name, normalizedName(image));
        if (!existed) await ctr('rm', name);
        // The CRI plugin learns of the new name from containerd's events, a moment later.
        for (let i = 0; i < 100 && !(await cri.imageStatus(image)); i++) await sleep(50);
        return ref;
      } catch (err) {
        errors.push(`${name}: ${(err as Error).message}`);
      }
    }
    if (errors.length) log.info({ image, errors }, 'rewritten pulls failed; pulling the image as named');
    return cri.pullImage(image, sandboxConfig, timeoutMs);
  };
  return wrapped;
}
