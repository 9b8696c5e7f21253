// The esbuild `define`s that stamp the version and git commit into a bundle (see src/cli/version.ts).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';

function gitCommit() {
  try {
    return execFileSync('git', ['rev-parse', '--short=12', 'HEAD'], { stdio: ['ignore', 'pipe', 'ignore'] })
      .toString()
      .trim();
  } catch {
    return 'unknown';
  }
}

export function versionDefines() {
  const pkg = JSON.parse(fs.readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
  return { SKIFF_VERSION: JSON.stringify(pkg.version), SKIFF_COMMIT: JSON.stringify(gitCommit()) };
}
