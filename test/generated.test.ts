// Every generated file is committed (so a fresh checkout type-checks and builds without the tools
// that made it) and must be what its generator makes today: the OpenAPI definitions from
// kubernetes-types, the CRI API from containerd's binary, the protobuf field table from kubectl's.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { repoRoot } from './helpers/run.js';
import { tempDir } from './helpers/tmp.js';

const generated: { file: string; script: string; args: string[] }[] = [
  { file: 'src/api/openapi/definitions.json', script: 'scripts/gen-openapi.mjs', args: [] },
  { file: 'src/cri/cri-api.json', script: 'scripts/extract-cri-proto.mjs', args: ['/usr/bin/containerd'] },
  {
    file: 'src/apiserver/protobuf/messages.json',
    script: 'scripts/extract-k8s-proto.mjs',
    args: ['/usr/lib/google-cloud-sdk/bin/kubectl.1.32'],
  },
];

for (const g of generated) {
  t.test(`${g.file} is current (npm run gen)`, async (t) => {
    const out = path.join(tempDir(t), path.basename(g.file));
    // The OpenAPI generator takes only the output; the extractors take their binary first.
    execFileSync(process.execPath, [g.script, ...g.args, out], { cwd: repoRoot, stdio: 'pipe' });
    t.ok(
      fs.readFileSync(out).equals(fs.readFileSync(path.join(repoRoot, g.file))),
      `${g.file} matches what ${g.script} makes: run npm run gen and commit it`,
    );
  });
}
