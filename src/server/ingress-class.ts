// The IngressClass of the ingress every node serves, as K3s stages its Traefik manifest: written into
// the auto-deploy directory at every start (so an edited copy is put back), and removed with
// --disable ingress (or traefik), whereupon the deployer deletes the class an earlier start created.
// The nodes' side is src/agent/network/ingress, the Ingresses' status src/controllers/ingress-status.ts.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { INGRESS_CLASS, INGRESS_CONTROLLER, IS_DEFAULT_INGRESS_CLASS, ingressDisabled } from '../k8s/ingress.js';

const FILE = 'ingress.yaml';

const MANIFEST = `apiVersion: networking.k8s.io/v1
kind: IngressClass
metadata:
  name: ${INGRESS_CLASS}
  annotations:
    ${IS_DEFAULT_INGRESS_CLASS}: "true"
spec:
  controller: ${INGRESS_CONTROLLER}
`;

/** Writes (or, when disabled, removes) <manifestsDir>/ingress.yaml. */
export function stageIngressClass(manifestsDir: string, disabled: string[]): void {
  const file = path.join(manifestsDir, FILE);
  if (ingressDisabled(disabled)) {
    rmSync(file, { force: true });
    return;
  }
  mkdirSync(manifestsDir, { recursive: true });
  writeFileSync(file, MANIFEST);
}
