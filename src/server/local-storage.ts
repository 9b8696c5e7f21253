// The default StorageClass, as K3s stages its local-storage manifest: written into the auto-deploy
// directory at every start (so an edited copy is put back), and removed with --disable local-storage,
// whereupon the deployer deletes what an earlier start created. The provisioner is
// src/controllers/local-path-provisioner.ts; the node's side src/agent/storage/local-path-node.ts.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { LOCAL_PATH_CLASS, LOCAL_PATH_PROVISIONER, LOCAL_STORAGE } from '../k8s/local-path.js';

const MANIFEST = `apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: ${LOCAL_PATH_CLASS}
  annotations:
    storageclass.kubernetes.io/is-default-class: "true"
provisioner: ${LOCAL_PATH_PROVISIONER}
volumeBindingMode: WaitForFirstConsumer
reclaimPolicy: Delete
allowVolumeExpansion: true
`;

/** Writes (or, when disabled, removes) <manifestsDir>/local-storage.yaml. */
export function stageLocalStorage(manifestsDir: string, disabled: string[]): void {
  const file = path.join(manifestsDir, `${LOCAL_STORAGE}.yaml`);
  if (disabled.includes(LOCAL_STORAGE)) {
    rmSync(file, { force: true });
    return;
  }
  mkdirSync(manifestsDir, { recursive: true });
  writeFileSync(file, MANIFEST);
}
