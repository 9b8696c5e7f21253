// Masquerading as flannel does it (its FLANNEL-POSTRTG rules): pods talking to pods anywhere in the
// cluster keep their source address; traffic from the cluster range to outside it leaves with the
// node's address; traffic from outside the cluster range (the host itself, forwarded traffic) toward
// pods on other nodes is masqueraded, so that replies come back the way it went; traffic into this
// node's own pods from outside keeps its source. Packets carrying kube-proxy's masquerade mark
// (0x4000) are left to the Services rules that set it. The CNI bridge's own ipMasq is switched off
// while a backend is active, so these rules are the only ones.
//
// One table of our own (`ip skiff-podnet`), replaced atomically with `nft -f` (Debian's nftables):
// the whole table is deleted and written again in one transaction, so there is never a moment without
// it, and nothing outside it is touched (the Services rules live in a table of their own).
import { execFile } from 'node:child_process';

export const MASQ_TABLE = 'skiff-podnet';
export const KUBE_PROXY_MASQ_MARK = '0x4000';

export interface MasqueradeRanges {
  clusterCIDR: string;
  /** This node's pod range. */
  podCIDR: string;
}

/** The `nft -f` script that (re)creates the table. */
export function masqueradeScript({ clusterCIDR: cluster, podCIDR: pods }: MasqueradeRanges): string {
  return [
    // Declaring the table first makes the delete safe when it does not exist yet.
    `table ip ${MASQ_TABLE}`,
    `delete table ip ${MASQ_TABLE}`,
    `table ip ${MASQ_TABLE} {`,
    '  chain postrouting {',
    '    type nat hook postrouting priority srcnat; policy accept;',
    `    meta mark & ${KUBE_PROXY_MASQ_MARK} == ${KUBE_PROXY_MASQ_MARK} return`,
    `    ip saddr ${pods} ip daddr ${cluster} return`,
    `    ip saddr ${cluster} ip daddr ${pods} return`,
    `    ip saddr != ${cluster} ip daddr ${pods} return`,
    `    ip saddr ${cluster} ip daddr != 224.0.0.0/4 masquerade fully-random`,
    `    ip saddr != ${cluster} ip daddr ${cluster} masquerade fully-random`,
    '  }',
    '}',
    '',
  ].join('\n');
}

function nft(args: string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile('nft', args, (err, stdout, stderr) =>
      err ? reject(new Error(`nft ${args.join(' ')}: ${stderr.trim() || err.message}`)) : resolve(stdout),
    );
    if (input !== undefined) child.stdin!.end(input);
  });
}

export const applyNftScript = (script: string) => nft(['-f', '-'], script).then(() => undefined);

export const masqueradeTableExists = () =>
  nft(['list', 'table', 'ip', MASQ_TABLE]).then(
    () => true,
    () => false,
  );

/** Uninstalling: the table goes (a missing one is no error). */
export const removeMasqueradeTable = () => applyNftScript(`table ip ${MASQ_TABLE}\ndelete table ip ${MASQ_TABLE}\n`);
