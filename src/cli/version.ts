// Version facts for `skiff version`. The build stamps the commit in; from a checkout we ask git.
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';

declare const SKIFF_VERSION: string | undefined;
declare const SKIFF_COMMIT: string | undefined;

function fromCheckout(): { version: string; commit: string } {
  const require = createRequire(import.meta.url);
  const pkg = require('../../package.json') as { version: string };
  let commit = 'unknown';
  try {
    commit = execFileSync('git', ['rev-parse', '--short=12', 'HEAD'], { stdio: ['ignore', 'pipe', 'ignore'] })
      .toString()
      .trim();
  } catch {
    // not a git checkout: leave the commit unknown
  }
  return { version: pkg.version, commit };
}

export function versionInfo(): { version: string; commit: string; node: string; platform: string } {
  const stamped = typeof SKIFF_VERSION === 'string' && typeof SKIFF_COMMIT === 'string';
  const { version, commit } = stamped ? { version: SKIFF_VERSION!, commit: SKIFF_COMMIT! } : fromCheckout();
  return { version: `v${version}`, commit, node: process.version, platform: `${process.platform}/${process.arch}` };
}

export function versionText(): string {
  const v = versionInfo();
  return `skiff version ${v.version} (${v.commit})\nnode ${v.node}\nplatform ${v.platform}\n`;
}
