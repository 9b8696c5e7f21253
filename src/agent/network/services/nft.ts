// The kernel side of the Service rules, through Debian's `nft`: a script applied as one transaction,
// the table's ClientIP affinity entries read back, and the table removed on uninstall.
import { execFile } from 'node:child_process';
import { type AffinityEntry, TABLE } from './render.js';

export class NftError extends Error {}

/** Runs `nft <args>` with `input` on stdin; a failure carries nft's own message. */
export function nft(args: string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile('nft', args, { maxBuffer: 256 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (!err) return resolve(stdout);
      const e = err as NodeJS.ErrnoException;
      const why = e.code === 'ENOENT' ? "nft not found on PATH: install Debian's nftables package" : (stderr || e.message).trim();
      reject(new NftError(`nft ${args.join(' ')}: ${why.slice(0, 4000)}`));
    });
    child.stdin!.on('error', () => {}); // nft gone early: its exit says why
    child.stdin!.end(input ?? '');
  });
}

/** Applies a script as one transaction (`nft -f -`): all of it or, on any error, none of it. */
export async function applyRules(script: string): Promise<void> {
  await nft(['-f', '-'], script);
}

/** Checks a script without applying it (`nft -c`; the kernel validates it, so it needs CAP_NET_ADMIN). */
export async function checkRules(script: string): Promise<void> {
  await nft(['-c', '-f', '-'], script);
}

interface NftSetJson {
  set?: { name: string; elem?: (string | { elem: { val: string; expires?: number } })[] };
}

/** The live entries of the table's ClientIP affinity sets (none when the table is not there). */
export async function readAffinity(): Promise<AffinityEntry[]> {
  let out: string;
  try {
    out = await nft(['-j', 'list', 'sets', 'table', 'ip', TABLE]);
  } catch {
    return [];
  }
  const entries: AffinityEntry[] = [];
  for (const item of (JSON.parse(out) as { nftables: NftSetJson[] }).nftables) {
    const set = item.set;
    if (!set?.name.startsWith('affinity-')) continue;
    for (const e of set.elem ?? []) {
      if (typeof e === 'object' && e.elem.expires !== undefined)
        entries.push({ set: set.name, ip: e.elem.val, expiresMs: e.elem.expires * 1000 });
    }
  }
  return entries;
}

/** Whether the table is in the kernel (a firewall reload may have flushed the whole ruleset). */
export async function tableExists(): Promise<boolean> {
  const out = await nft(['list', 'tables', 'ip']);
  return out.split('\n').some((line) => line.trim() === `table ip ${TABLE}`);
}

/**
 * Removes every Service rule of this node. For uninstalling (the agent's own stop leaves the rules
 * in place, so Services keep working while it restarts, and the next start replaces them at once).
 */
export async function removeServiceRules(): Promise<void> {
  // Adding first makes the delete succeed whether or not the table was there.
  await nft(['-f', '-'], `table ip ${TABLE}\ndelete table ip ${TABLE}\n`);
}
