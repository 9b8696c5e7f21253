// Fails naming every line longer than 140 characters in the TypeScript and JavaScript sources. Biome
// wraps code at 140 but leaves long strings, regexes, template literals and comments as they are.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';

const MAX = 140;
const listed = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { encoding: 'utf8' });
const files = listed.split('\0').filter((f) => /\.(ts|mjs|cjs|js)$/.test(f) && fs.existsSync(f));
let failed = false;
for (const file of files) {
  for (const [i, line] of fs.readFileSync(file, 'utf8').split('\n').entries()) {
    const length = [...line].length;
    if (length <= MAX) continue;
    console.error(`${file}:${i + 1}: ${length} characters (at most ${MAX})`);
    failed = true;
  }
}
process.exit(failed ? 1 : 0);
