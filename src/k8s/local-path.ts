// Names local-path storage's parts agree on: the server's StorageClass, the provisioner in the
// controller manager, and each node's agent, which owns the node's disk.

export const LOCAL_PATH_CLASS = 'local-path';
export const LOCAL_PATH_PROVISIONER = 'skiff.io/local-path';
/** The --disable name. */
export const LOCAL_STORAGE = 'local-storage';

/** On a Node: the folder of its local-path volumes (its --default-local-storage-path). */
export const ANN_STORAGE_PATH = 'local-path.skiff.io/path';
/** On a Node, one per volume to remove: local-path.skiff.io/remove-<pv name> = the volume's directory name. */
export const REMOVE_PREFIX = 'local-path.skiff.io/remove-';

/** The directory of a claim's volume: pvc-<uid>_<namespace>_<name>, as K3s's local-path provisioner names it. */
export const volumeDirName = (uid: string, namespace: string, name: string) => `pvc-${uid}_${namespace}_${name}`;
