// The IngressClass manifest the server stages: written at every start, removed with --disable ingress
// or its K3s name traefik (then the deployer deletes the class).
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { stageIngressClass } from '../../src/server/ingress-class.js';
import { ingressDisabled } from '../../src/k8s/ingress.js';
import { tempDir } from '../helpers/tmp.js';

t.test('staged unless disabled, by either name', async (t) => {
  const dir = path.join(tempDir(t), 'manifests');
  const file = path.join(dir, 'ingress.yaml');
  stageIngressClass(dir, ['servicelb']);
  const text = fs.readFileSync(file, 'utf8');
  t.match(text, /kind: IngressClass\n/);
  t.match(text, /name: skiff\n/);
  t.match(text, /ingressclass\.kubernetes\.io\/is-default-class: "true"\n/);
  t.match(text, /controller: skiff\.io\/ingress\n/);
  fs.writeFileSync(file, 'edited');
  stageIngressClass(dir, []);
  t.equal(fs.readFileSync(file, 'utf8'), text, 'an edited copy is put back');
  stageIngressClass(dir, ['traefik']);
  t.notOk(fs.existsSync(file), 'traefik is the same switch');
  stageIngressClass(dir, []);
  stageIngressClass(dir, ['ingress']);
  t.notOk(fs.existsSync(file));
  t.ok(ingressDisabled(['coredns', 'ingress']));
  t.notOk(ingressDisabled(['coredns', 'servicelb']));
});
