// Lays out a release from the executables of scripts/build-binary.mjs, with K3s's names (amd64, not x64):
//   skiff-linux-amd64.xz, skiff-linux-arm64.xz   the executables, xz-compressed (xzcat is on every Debian
//                                                and in busybox, so install.sh needs nothing more)
//   install.sh                                   packaging/install.sh
//   skiff-airgap-<arch>.tar                      for machines without the internet: the compressed
//                                                executable, install.sh, their checksums and a README
//   sha256sum.txt                                of every file above
// and prints each architecture's download and installed size. Skiff needs no image of its own (it builds
// its pause image, its addons run none), so an air-gap bundle holds no image tarball.
// Usage: node scripts/release.mjs [from (default dist)] [to (default dist/release)]
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

const [from = 'dist', to = path.join(from, 'release')] = process.argv.slice(2);
/** Release names, as K3s's and Debian's, of build-binary's Node names. */
const ARCHES = { amd64: 'x64', arm64: 'arm64' };

const MiB = (bytes) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
const sha256 = (file) => createHash('sha256').update(fs.readFileSync(file)).digest('hex');
const sumLines = (files) => files.map((f) => `${sha256(path.join(to, f))}  ${f}\n`).join('');

const airgapReadme = (arch) => `Skiff for a machine without the internet (linux-${arch})

On the machine, as root, in this folder:
  SKIFF_DOWNLOAD_URL=file://$PWD sh install.sh
(with curl; otherwise: xzcat skiff-linux-${arch}.xz > /usr/local/bin/skiff, chmod 755 it, then
INSTALL_SKIFF_SKIP_DOWNLOAD=true sh install.sh). install.sh takes the same variables as online.
Skiff needs no container image of its own; the images your workloads use go, as image tarballs
(docker save, skopeo copy ... oci-archive:...), into /var/lib/skiff/agent/images/ where every
node imports them when it starts. The node also needs containerd, runc, the CNI plugins and nftables
from the OS: without a network, install them from your own package mirror.
`;

for (const node of Object.values(ARCHES))
  if (!fs.existsSync(path.join(from, `skiff-linux-${node}`)))
    throw new Error(`${path.join(from, `skiff-linux-${node}`)} is missing: run npm run build:binary first`);
fs.rmSync(to, { recursive: true, force: true });
fs.mkdirSync(to, { recursive: true });
fs.copyFileSync('packaging/install.sh', path.join(to, 'install.sh'));
fs.chmodSync(path.join(to, 'install.sh'), 0o755);

const files = ['install.sh'];
const sizes = [];
for (const [arch, node] of Object.entries(ARCHES)) {
  const executable = path.join(from, `skiff-linux-${node}`);
  const compressed = `skiff-linux-${arch}.xz`;
  // Preset 6 splits the file into blocks that all cores compress at once; -9 gains little and runs on one.
  fs.writeFileSync(path.join(to, compressed), execFileSync('xz', ['-T0', '-6', '-c', executable], { maxBuffer: 1 << 30 }));
  const bundle = `skiff-airgap-${arch}`;
  const staging = path.join(to, bundle);
  fs.mkdirSync(staging);
  fs.copyFileSync(path.join(to, compressed), path.join(staging, compressed));
  fs.copyFileSync(path.join(to, 'install.sh'), path.join(staging, 'install.sh'));
  fs.writeFileSync(path.join(staging, 'sha256sum.txt'), sumLines([compressed]));
  fs.writeFileSync(path.join(staging, 'README.txt'), airgapReadme(arch));
  execFileSync('tar', ['-cf', `${bundle}.tar`, '--owner=0', '--group=0', bundle], { cwd: to });
  fs.rmSync(staging, { recursive: true });
  files.push(compressed, `${bundle}.tar`);
  sizes.push(
    `release: linux-${arch}: download ${MiB(fs.statSync(path.join(to, compressed)).size)}, installed ${MiB(fs.statSync(executable).size)}`,
  );
}
fs.writeFileSync(path.join(to, 'sha256sum.txt'), sumLines(files));
console.log(`release: ${to}: ${[...files, 'sha256sum.txt'].join(' ')}`);
for (const line of sizes) console.log(line);
